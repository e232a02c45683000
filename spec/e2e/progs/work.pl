# Perl workload: regexes (captures, global matches, substitutions with
# expressions, lookahead, tr///), hashes (printed in sorted order: Perl's hash
# order is randomized), sprintf, pack/unpack, sort with custom comparators.
use strict;
use warnings;

my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed >> 16; }

my @words = map { join '', map { chr(97 + rnd() % 26) } 1 .. (3 + rnd() % 7) } 1 .. 40000;
my %count;
$count{$_}++ for @words;
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 4];
printf "distinct %d, top: %s\n", scalar(keys %count), join(', ', map { "$_=$count{$_}" } @top);

# regexes
my $text = join ' ', @words;
my $vowel_runs = () = $text =~ /[aeiou]{3,}/g;
my @caps = $text =~ /\b(q\w*u)\b/g;
my %by_first;
while ($text =~ /\b([xyz])(\w+)/g) { $by_first{$1} += length $2; }
printf "vowel runs %d, q..u words %d (%s), by_first %s\n", $vowel_runs, scalar(@caps),
    join('/', @caps[0 .. 2]), join(' ', map { "$_:$by_first{$_}" } sort keys %by_first);
(my $sub = substr($text, 0, 2000)) =~ s/(\w+)/length($1) > 5 ? uc($1) : scalar reverse($1)/ge;
print "subst: ", substr($sub, 0, 80), "\n";
my $look = () = $text =~ /\b\w+(?=ing\b)/g;
(my $tr = substr($text, 0, 60)) =~ tr/a-m/N-Z/;
print "lookahead $look, tr: $tr\n";
my @dates = ("2020-02-29", "1999-12-31", "bad-date", "2024-07-04");
for my $d (@dates) {
    if ($d =~ /^(?<y>\d{4})-(?<m>\d\d)-(?<d>\d\d)$/) { printf "%-10s -> %s/%s/%s\n", $d, $+{d}, $+{m}, $+{y}; }
    else { printf "%-10s -> no match\n", $d; }
}

# sprintf and numbers
printf "%s\n", join ' ', map { sprintf '%08.3f|%-6s|%+d|%x|%o|%e|%5.1f%%', $_ / 7, "n$_", $_ - 50, $_ * 255, $_, $_ * 1e10 / 3, $_ } 1, 42, 99;
my $sum = 0;
$sum += sqrt($_) * log($_ + 1) for 1 .. 200000;
printf "float sum %.6f\n", $sum;

# nested data, sort, join
my %tree;
for my $i (0 .. 9999) { push @{ $tree{ $i % 17 }{ $i % 5 } }, $i; }
my $cs = 0;
for my $k (sort { $a <=> $b } keys %tree) {
    for my $j (sort { $a <=> $b } keys %{ $tree{$k} }) { $cs = ($cs * 31 + scalar(@{ $tree{$k}{$j} }) + $j) % 1000000007; }
}
print "tree checksum $cs\n";

# pack/unpack
my $packed = pack('NnC A5 w', 0xdeadbeef, 513, 7, 'hello', 300);
print "pack: ", unpack('H*', $packed), " -> ", join(',', unpack('NnC A5 w', $packed)), "\n";
my $h = 0;
$h = ($h * 33 + ord) % 4294967296 for split //, $text;
printf "text hash %08x, length %d\n", $h, length $text;
