// The gateway configuration the demo writes to `.rampart-demo/gateway.yaml`. Generated as
// commented YAML so a user can read it as an example; paths are relative to the file's folder
// (the config loader resolves them), so the folder can be moved.

export interface DemoConfigInput {
  /** Port the gateway listens on (127.0.0.1). */
  port: number;
  chatUpstreamUrl: string;
  classifierUpstreamUrl: string;
  chatModel: string;
  classifierModel: string;
  /** Absolute path of the JSON-lines alert file (file sink paths are taken as given). */
  alertsFile: string;
  /** Extra webhook sink for alerts (`rampart demo --alert-webhook`). */
  alertWebhook?: string;
}

const q = (s: string) => JSON.stringify(s);

export function demoGatewayYaml(c: DemoConfigInput): string {
  return `# Gateway configuration written by \`rampart demo\`. Run the same gateway by hand with
#   rampart gateway --config ${q('.rampart-demo/gateway.yaml')}
# (the example model servers must be running: \`rampart demo\` starts them). Reference: docs/config.md.
server:
  listen: ${q(`127.0.0.1:${c.port}`)}
  tls:
    cert: tls/server.pem
    key: tls/server-key.pem
    minVersion: TLSv1.2
  bodyLimit: 1mb

store:
  type: sqlite
  path: rampart.db        # API keys, audit chain and quota counters

auth:
  apiKeys:
    enabled: true

policy:
  files:
    - policies/demo.cedar

models:
  - name: ${q(c.chatModel)}
    protocol: openai
    description: OpenAI-compatible chat model stand-in (deterministic replies, streaming)
    upstream:
      url: ${q(c.chatUpstreamUrl)}
      ca: tls/ca.pem        # the upstream's certificate must chain to the demo CA (pinned)
      timeout: 30s
    attributes:
      family: llm
      owner: ml-platform
      sensitivity: internal
  - name: ${q(c.classifierModel)}
    protocol: kserve-v2
    description: KServe v2 digits classifier trained at start-up on examples/data/digits.csv.gz
    upstream:
      url: ${q(c.classifierUpstreamUrl)}
      ca: tls/ca.pem
      timeout: 10s
    attributes:
      family: classifier
      owner: ml-platform
      sensitivity: public

quotas:
  defaultPrincipal:
    requestsPerMinute: 600
    concurrent: 16
    tokensPerMinute: 50000
    tokensPerDay: 1000000

audit:
  includeBodies: false

# Inference guards (docs/guards.md), run in this order after authentication, Cedar and quotas.
# Every guard kind is on with its defaults; \`rampart guards list\` shows the kinds.
guards:
  - type: prompt-injection    # user messages, tool results, documents: blocks at 0.85 (tool results/documents 0.7), flags from 0.5 (0.4)
  - type: pii                 # cards, IBAN, national ids, keys and tokens redacted; e-mail, phone, IP flagged (also in streams)
  - type: tensor              # KServe v2: shape, dtype, range, NaN; OOD score and feature squeezing vs the baseline
    options:
      baselines: [baselines/digits.json]   # built at start-up from the classifier's training rows
  - type: extraction          # PRADA, query budget, input coverage per principal (KServe v2)
  - type: predictions         # each classifier answer becomes a model.prediction event (output-drift monitoring)
  - type: output-hardening    # classifier scores rounded to 2 decimals (after extraction, which reads them)

monitoring:
  enabled: true           # audit records become events; built-in detectors raise alerts
  sinks:
    - name: demo-file
      type: file
      path: ${q(c.alertsFile)}
${c.alertWebhook ? `    - name: demo-webhook
      type: webhook
      url: ${q(c.alertWebhook)}
` : ''}
observability:
  metrics:
    enabled: true
    path: /metrics
  logLevel: info
`;
}
