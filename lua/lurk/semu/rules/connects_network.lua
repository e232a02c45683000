-- An IPv4/IPv6 connection is attempted (connect, or sendto with an address),
-- whether it succeeded, failed or was denied by the sandbox.
return {
  name = "connects_network",
  description = "connects to the network",
  check = function(doc)
    local ev = {}
    for _, e in ipairs(doc.events) do
      local a = e.args and e.args.addr
      if (e.call == "connect" or e.call == "sendto") and a and (a.family == "AF_INET" or a.family == "AF_INET6") then
        ev[#ev + 1] = e.id
      end
    end
    return #ev > 0, ev
  end,
}
