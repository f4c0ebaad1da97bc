// The gateway-shaped audit record both audit benchmarks (bench/audit.mjs, bench/audit-json.mjs) feed
// to the writer: the fields the gateway fills on an allowed chat completion.
export function gatewayAuditRecord(i) {
  return {
    id: `req-${i.toString(16).padStart(8, '0')}`,
    time: new Date(1_795_000_000_000 + i).toISOString(),
    principal: i % 3 ? 'svc-batch' : 'alice',
    authMethod: 'api-key',
    model: i % 2 ? 'chat-small' : 'digits',
    action: 'invoke',
    route: 'openai.chat.completions',
    method: 'POST',
    path: '/v1/chat/completions',
    sourceIp: '10.0.0.7',
    decision: 'allow',
    policyIds: ['policy0'],
    errorCode: null,
    status: 200,
    latencyMs: 3.25,
    upstreamMs: 2.5,
    bytesIn: 1024,
    bytesOut: 2310,
    usage: { promptTokens: 42, completionTokens: 17, totalTokens: 59 },
  };
}
