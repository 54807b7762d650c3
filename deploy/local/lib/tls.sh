# shellcheck shell=bash
# The local stack's secured endpoints, beside its plaintext ones, so the services are tested against
# what a managed Kafka, PostgreSQL and Redis ask of them (issue 26):
#   - Kafka: a SASL_SSL listener on 127.0.0.1:$SLUICE_KAFKA_SECURE_PORT (9095) taking PLAIN,
#     SCRAM-SHA-256 and SCRAM-SHA-512 for the user `sluice`;
#   - PostgreSQL: TLS on its one port (clients choose with sslmode; verify-full checks the name);
#   - Redis: the state Redis also listens with TLS on 127.0.0.1:$SLUICE_REDIS_TLS_PORT (6381), where
#     the ACL user `sluice` must log in with its password.
# One certificate authority made with openssl at the first start, per data directory, signs the one
# server certificate (names: localhost and 127.0.0.1). The passwords are random per data directory,
# in $SLUICE_DATA/keys (0600), never in the repository.

SLUICE_KAFKA_SECURE_PORT="${SLUICE_KAFKA_SECURE_PORT:-9095}"
SLUICE_REDIS_TLS_PORT="${SLUICE_REDIS_TLS_PORT:-6381}"
TLS_DIR="$SLUICE_DATA/tls"
SECURE_USER=sluice

# local_password NAME: a random password kept in $SLUICE_DATA/keys/NAME (made once).
local_password() {
  local file="$SLUICE_DATA/keys/$1"
  if [[ ! -s $file ]]; then
    mkdir -p "$SLUICE_DATA/keys"
    chmod 700 "$SLUICE_DATA/keys"
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$file.tmp" && mv "$file.tmp" "$file")
  fi
  cat "$file"
}

tls_ensure() {
  [[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/kafka-keystore.pem && -s $TLS_DIR/pg-server.key ]] && return 0
  ensure_apt_for openssl:openssl
  log "making the local stack's certificate authority and server certificate (openssl)"
  rm -rf "$TLS_DIR.tmp"
  mkdir -p "$TLS_DIR.tmp"
  (
    cd "$TLS_DIR.tmp" || exit 1
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 825 \
      -subj "/CN=sluice local stack CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" &&
      openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 825 \
        -extfile server.ext &&
      # Kafka's PEM keystore: the PKCS#8 key and its certificate in one file.
      cat server.key server.pem >kafka-keystore.pem &&
      cp server.key pg-server.key
  ) >"$SLUICE_LOGS/tls.log" 2>&1 || die "making certificates failed; see $SLUICE_LOGS/tls.log"
  chmod 644 "$TLS_DIR.tmp/ca.pem" "$TLS_DIR.tmp/server.pem"
  # PostgreSQL runs as its own user and refuses a key anyone else can read.
  is_root && chown postgres:postgres "$TLS_DIR.tmp/pg-server.key" "$TLS_DIR.tmp/server.pem"
  chmod 755 "$TLS_DIR.tmp"
  rm -rf "$TLS_DIR"
  mv "$TLS_DIR.tmp" "$TLS_DIR"
}

# The environment that points the services at the secured endpoints (`./sluice env --secure`).
secure_env_exports() {
  export SLUICE_TLS_CA_FILE="$TLS_DIR/ca.pem"
  export SLUICE_SECURE_KAFKA_BROKERS="127.0.0.1:$SLUICE_KAFKA_SECURE_PORT"
  export SLUICE_SECURE_KAFKA_USERNAME="$SECURE_USER"
  export SLUICE_SECURE_KAFKA_PASSWORD
  SLUICE_SECURE_KAFKA_PASSWORD=$(local_password kafka-sasl.password)
  export SLUICE_SECURE_REDIS_URL
  SLUICE_SECURE_REDIS_URL="rediss://$SECURE_USER:$(local_password redis-acl.password)@127.0.0.1:$SLUICE_REDIS_TLS_PORT"
}
