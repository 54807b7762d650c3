# shellcheck shell=bash
# The demo's webhook sources (issue 22, item 6): a GitHub and a Stripe source of the demo tenant,
# kept in $SLUICE_KEYS_DIR/webhook-<provider>.json (0600: id, url and the secret, made at random)
# while the source lives, and the curl + openssl commands that send each a signed test delivery.

# Declares (or keeps) the demo tenant's source of provider $1.
ensure_demo_webhook() {
  local provider=$1
  sluice_node webhooks ensure --file "$SLUICE_KEYS_DIR/webhook-$provider.json" \
    --tenant "$DEMO_TENANT" --provider "$provider" >/dev/null
}

# A field of a demo source's file.
demo_webhook_field() {
  node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]))' "$1" "$2"
}

# Prints the shell commands that send provider $1's source (file $3) a signed test delivery at $2
# (the edge's or ingest's base URL), as GitHub and Stripe sign theirs: openssl computes the HMAC.
webhook_example() {
  local provider=$1 base=$2 file=$3 id secret
  id=$(demo_webhook_field "$file" id)
  secret=$(demo_webhook_field "$file" secret)
  case $provider in
    github)
      cat <<EXAMPLE
body='{"zen":"Design for failure.","hook_id":1,"repository":{"full_name":"demo/app"}}'
sig=\$(printf %s "\$body" | openssl dgst -sha256 -hmac '$secret' | sed 's/^.* //')
curl -sS -X POST $base/v1/webhooks/$id -H 'content-type: application/json' -H "X-Hub-Signature-256: sha256=\$sig" -H 'X-GitHub-Event: ping' -H "X-GitHub-Delivery: \$(uuidgen 2>/dev/null || cat /proc/sys/kernel/random/uuid)" -d "\$body"
EXAMPLE
      ;;
    stripe)
      cat <<EXAMPLE
t=\$(date +%s); body='{"id":"evt_'\$t\$RANDOM'","object":"event","type":"payment_intent.succeeded","created":'\$t',"data":{"object":{"id":"pi_demo","amount":2000,"currency":"usd"}}}'
sig=\$(printf %s "\$t.\$body" | openssl dgst -sha256 -hmac '$secret' | sed 's/^.* //')
curl -sS -X POST $base/v1/webhooks/$id -H 'content-type: application/json' -H "Stripe-Signature: t=\$t,v1=\$sig" -d "\$body"
EXAMPLE
      ;;
    *) die "no example for provider $provider" ;;
  esac
}

# The demo's webhook part: both sources, then how to send to them (through the edge).
demo_webhooks() {
  ensure_demo_webhook github
  ensure_demo_webhook stripe
  local base="http://127.0.0.1:$SLUICE_EDGE_PORT"
  cat <<DEMO
  webhooks      the demo tenant has a GitHub and a Stripe source (secrets in $SLUICE_KEYS_DIR/webhook-*.json);
                send each a signed test delivery (openssl signs as the provider does):
$(webhook_example github "$base" "$SLUICE_KEYS_DIR/webhook-github.json" | sed 's/^/                  /')
$(webhook_example stripe "$base" "$SLUICE_KEYS_DIR/webhook-stripe.json" | sed 's/^/                  /')
                counted per provider, type and account (with the read key):
                  curl -sS -H "Authorization: Bearer \$(cat $SLUICE_KEYS_DIR/demo-read.key)" 'http://127.0.0.1:$SLUICE_QUERY_PORT/v1/streams/webhooks/windows?window=1m&from=-15m&group_by=provider,type,account'
                more sources: ./sluice webhooks add --tenant T --provider github|stripe|standard-webhooks|shopify|slack|hmac --secret-file F
DEMO
}
