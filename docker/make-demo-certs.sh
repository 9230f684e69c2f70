#!/usr/bin/env bash
# Demo certificates for the audit channel of docker/compose.yaml: a throwaway CA, the rsyslog
# audit repository's server certificate and the node's client certificate (ITI-19 mutual TLS).
# For a demo only: production uses the HIE's own CA.
#
#   docker/make-demo-certs.sh [OUT_DIR]     (OUT_DIR defaults to docker/)
#
# writes OUT_DIR/ca/{ca.pem,ca-key.pem}                      the CA, never mounted anywhere
#        OUT_DIR/rsyslog/certs/{ca.pem,server.pem,server-key.pem}   mounted into rsyslog
#        OUT_DIR/certs/{ca.pem,node.pem,node-key.pem}               mounted into the node
# and refuses to overwrite: delete those folders' .pem files to start again.
set -euo pipefail

out=$(cd "${1:-$(dirname "$0")}" && pwd)
ca_dir=$out/ca
rsyslog_dir=$out/rsyslog/certs
node_dir=$out/certs
days=825

for existing in "$ca_dir/ca.pem" "$rsyslog_dir/server.pem" "$node_dir/node.pem"; do
    if [[ -e $existing ]]; then
        echo "$existing exists already: delete the old certificates to make new ones" >&2
        exit 1
    fi
done
mkdir -p "$ca_dir" "$rsyslog_dir" "$node_dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days "$days" \
    -subj "/O=HIE demo/CN=HIE demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$ca_dir/ca-key.pem" -out "$ca_dir/ca.pem" 2>/dev/null

# issue NAME KEY CERT USAGE SAN: one key and certificate signed by the demo CA.
issue() {
    local name=$1 key=$2 cert=$3 usage=$4 san=$5
    openssl req -new -newkey rsa:3072 -nodes -sha256 -subj "/O=HIE demo/CN=$name" \
        -keyout "$key" -out "$work/$name.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=$usage" "subjectAltName=$san" >"$work/$name.ext"
    openssl x509 -req -sha256 -days "$days" -in "$work/$name.csr" \
        -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
        -extfile "$work/$name.ext" -out "$cert" 2>/dev/null
}

issue rsyslog "$rsyslog_dir/server-key.pem" "$rsyslog_dir/server.pem" serverAuth \
    "DNS:rsyslog,DNS:localhost,IP:127.0.0.1"
issue hienode "$node_dir/node-key.pem" "$node_dir/node.pem" "clientAuth,serverAuth" \
    "DNS:hienode,DNS:web,DNS:localhost,IP:127.0.0.1"
cp "$ca_dir/ca.pem" "$rsyslog_dir/ca.pem"
cp "$ca_dir/ca.pem" "$node_dir/ca.pem"
chmod 0644 "$rsyslog_dir/ca.pem" "$rsyslog_dir/server.pem" "$node_dir/ca.pem" "$node_dir/node.pem"
# The node runs as uid 10001 in its containers and reads this bind-mounted key: a demo key may
# be world-readable; a real one is chowned to 10001 instead.
chmod 0644 "$node_dir/node-key.pem"

echo "CA:               $ca_dir/ca.pem"
echo "audit repository: $rsyslog_dir/server.pem"
echo "node (client):    $node_dir/node.pem"
