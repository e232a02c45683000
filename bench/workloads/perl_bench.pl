#!/usr/bin/perl
# lurk benchmark: Perl regex + hash workload.
# Generates log-like lines with an in-script LCG (deterministic), parses them
# with several regexes, aggregates into hashes, and prints sorted summaries.
# Usage: perl perl_bench.pl [SCALE]
use strict;
use warnings;

my $scale = shift // 1;
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) & 0x7fffffff; return $seed >> 8; }

my @verbs  = qw(GET POST PUT DELETE HEAD PATCH);
my @paths  = qw(index api/v1/users api/v1/items static/css static/js login logout
                search api/v2/orders admin/panel images/logo feed/rss);
my @agents = ('Mozilla/5.0 (X11; Linux x86_64)', 'curl/7.88.1', 'Wget/1.21',
              'python-requests/2.28', 'Mozilla/5.0 (Windows NT 10.0; Win64)');

my (%by_status, %by_path, %by_ip, %bytes_by_verb, %words);
my $lines = 0;
my $matched = 0;
for my $i (1 .. 40000 * $scale) {
    my $ip   = join('.', 10, rnd() % 4, rnd() % 16, rnd() % 256);
    my $verb = $verbs[rnd() % @verbs];
    my $path = $paths[rnd() % @paths];
    my $q    = (rnd() % 3) ? "?id=" . (rnd() % 1000) . "&page=" . (rnd() % 20) : "";
    my $st   = (200, 200, 200, 301, 304, 404, 500)[rnd() % 7];
    my $sz   = rnd() % 50000;
    my $ag   = $agents[rnd() % @agents];
    my $day  = 1 + rnd() % 28;
    my $line = sprintf('%s - - [%02d/Mar/2024:%02d:%02d:%02d +0000] "%s /%s%s HTTP/1.1" %d %d "-" "%s"',
                       $ip, $day, rnd() % 24, rnd() % 60, rnd() % 60, $verb, $path, $q, $st, $sz, $ag);
    $lines++;
    if ($line =~ m{^(\d+\.\d+\.\d+\.\d+) \S+ \S+ \[(\d\d)/(\w+)/(\d{4}):(\d\d):(\d\d):(\d\d) [+-]\d{4}\] "(\w+) (/[^ ?"]*)(?:\?([^ "]*))? HTTP/[\d.]+" (\d{3}) (\d+) "[^"]*" "([^"]*)"$}) {
        $matched++;
        my ($cip, $cverb, $cpath, $cq, $cst, $csz, $cag) = ($1, $8, $9, $10, $11, $12, $13);
        $by_status{$cst}++;
        $by_path{$cpath}{count}++;
        $by_path{$cpath}{bytes} += $csz;
        $by_ip{$cip}++;
        $bytes_by_verb{$cverb} += $csz;
        if (defined $cq) {
            my %kv = map { split /=/, $_, 2 } split /&/, $cq;
            $by_path{$cpath}{ids}{$kv{id}}++ if exists $kv{id};
        }
        for my $w ($cag =~ /([A-Za-z]+)/g) { $words{lc $w}++ }
        (my $norm = $cpath) =~ s{/v\d+/}{/vN/}g;
        $words{"path:$norm"}++ if $norm =~ tr/\///  > 1;
    }
}

print "lines $lines matched $matched\n";
print "status ", join(' ', map { "$_=$by_status{$_}" } sort keys %by_status), "\n";
for my $p (sort keys %by_path) {
    my $h = $by_path{$p};
    my $nid = scalar keys %{ $h->{ids} // {} };
    printf "%-20s %6d %10d %4d\n", $p, $h->{count}, $h->{bytes}, $nid;
}
my @top = (sort { $by_ip{$b} <=> $by_ip{$a} || $a cmp $b } keys %by_ip)[0 .. 4];
print "ips ", scalar(keys %by_ip), " top ", join(' ', map { "$_:$by_ip{$_}" } @top), "\n";
print "verbs ", join(' ', map { "$_=$bytes_by_verb{$_}" } sort keys %bytes_by_verb), "\n";
print "words ", join(' ', map { "$_=$words{$_}" } sort keys %words), "\n";
