#!/bin/sh
# Makes the signed test tree the validator's tests read (signed-tree/): a root (NSEC)
# delegating `test.` (NSEC3), which delegates one child zone per case, each on its own
# server 192.0.2.N. Keys are ECDSA P-256 (algorithm 13), fresh on every run; signatures
# are valid from 2026 to 2040, except those of expired.test. (2025 to March 2026).
# Needs ldnsutils (ldns-keygen, ldns-signzone). Run from anywhere; rewrites signed-tree/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/signed-tree"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
inception=20260101000000
expiration=20400101000000

child() { # child NAME LAST-OCTET
    cat <<ZONE
\$ORIGIN $1.
\$TTL 300
@ 3600 IN SOA ns.$1. admin.$1. 1 1800 900 604800 60
@ 3600 IN NS ns.$1.
ns 3600 IN A 192.0.2.$2
www IN A 192.0.2.80
www IN AAAA 2001:db8::80
*.wild IN A 192.0.2.81
alias IN CNAME www
ext IN CNAME www.secure.test.
txt IN TXT "hello"
sub.deep IN A 192.0.2.82
ZONE
}

keys() { # keys NAME: sets ksk and zsk
    ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$1")
    zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1")
}

sign() { # sign NAME SOURCE OUTPUT [ldns-signzone options]
    name=$1 source=$2 output=$3
    shift 3
    ldns-signzone "$@" -o "$name" -f "$output" "$source" "$ksk" "$zsk"
}

test_zone="test. 3600 IN SOA ns1.test. admin.test. 1 1800 900 604800 60
test. 3600 IN NS ns1.test.
ns1.test. 3600 IN A 192.0.2.2"
octet=3
for case in secure nsec3 insecure unlinked bogus expired wrongds; do
    name="$case.test"
    child "$name" "$octet" >"$name.src"
    test_zone="$test_zone
$name. 3600 IN NS ns.$name.
ns.$name. 3600 IN A 192.0.2.$octet"
    octet=$((octet + 1))
    case $case in
    insecure)
        cp "$name.src" "$name.zone"
        continue
        ;;
    esac
    keys "$name"
    window="-i $inception -e $expiration"
    [ "$case" = expired ] && window="-i 20250101000000 -e 20260301000000"
    chain=""
    [ "$case" = nsec3 ] && chain="-n -s abcd -t 1"
    # shellcheck disable=SC2086
    sign "$name" "$name.src" "$name.zone" $window $chain
    case $case in
    unlinked) ;; # signed, but the parent has no DS for it: insecure
    wrongds)
        # The parent's DS names a key the zone does not publish.
        other=$(ldns-keygen -a ECDSAP256SHA256 -k "$name")
        test_zone="$test_zone
$(cat "$other.ds")"
        ;;
    *)
        test_zone="$test_zone
$(cat "$ksk.ds")"
        ;;
    esac
    if [ "$case" = bogus ]; then
        # A record changed after signing: its signature no longer verifies.
        sed -i 's/^\(www\.bogus\.test\.[[:space:]].*A[[:space:]]*\)192\.0\.2\.80$/\1192.0.2.99/' "$name.zone"
        grep -q '192\.0\.2\.99$' "$name.zone"
    fi
done
printf '%s\n' "$test_zone" >test.src
keys test
sign test test.src test.zone -i $inception -e $expiration -n -s abcd -t 1
test_ds=$(cat "$ksk.ds")
cat >root.src <<ZONE
. 86400 IN SOA a.root. admin.root. 1 1800 900 604800 86400
. 86400 IN NS a.root.
a.root. 86400 IN A 192.0.2.1
test. 86400 IN NS ns1.test.
ns1.test. 86400 IN A 192.0.2.2
$test_ds
ZONE
keys .
sign . root.src root.zone -i $inception -e $expiration
rm -rf "$out"
mkdir -p "$out"
cp root.zone test.zone ./*.test.zone "$out/"
cp "$ksk.ds" "$out/anchor"
ls "$out"
