print("pathtool found", arg[0])
