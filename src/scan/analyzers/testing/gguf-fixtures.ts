// Builds GGUF files in memory (little-endian, versions 1–3) and holds realistic chat templates
// written for these tests in the style of popular model families.
export type GgufValue =
  | { type: 'u32'; v: number }
  | { type: 'f32'; v: number }
  | { type: 'bool'; v: boolean }
  | { type: 'str'; v: string }
  | { type: 'arr-str'; v: string[] }
  | { type: 'arr-i32'; v: number[] };

export interface GgufTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

class W {
  parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 0xff);
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i));
  }
  u64(v: number | bigint) {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.u8(Number((b >> (8n * i)) & 0xffn));
  }
  bytes(b: Uint8Array) {
    for (const x of b) this.u8(x);
  }
}

export function buildGguf(kv: Record<string, GgufValue>, tensors: GgufTensor[] = [], opts: { version?: number; dataBytes?: number } = {}): Uint8Array {
  const version = opts.version ?? 3;
  const w = new W();
  const cnt = (n: number) => (version === 1 ? w.u32(n) : w.u64(n));
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    cnt(b.length);
    w.bytes(b);
  };
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(version);
  cnt(tensors.length);
  cnt(Object.keys(kv).length);
  for (const [k, val] of Object.entries(kv)) {
    str(k);
    switch (val.type) {
      case 'u32':
        w.u32(4);
        w.u32(val.v);
        break;
      case 'f32':
        w.u32(6);
        w.bytes(new Uint8Array(new Float32Array([val.v]).buffer));
        break;
      case 'bool':
        w.u32(7);
        w.u8(val.v ? 1 : 0);
        break;
      case 'str':
        w.u32(8);
        str(val.v);
        break;
      case 'arr-str':
        w.u32(9);
        w.u32(8);
        cnt(val.v.length);
        for (const s of val.v) str(s);
        break;
      case 'arr-i32':
        w.u32(9);
        w.u32(5);
        cnt(val.v.length);
        for (const n of val.v) w.u32(n);
        break;
    }
  }
  for (const t of tensors) {
    str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) {
      if (version === 1) w.u32(d);
      else w.u64(d);
    }
    w.u32(t.type);
    w.u64(t.offset);
  }
  while (w.parts.length % 32 !== 0) w.u8(0);
  for (let i = 0; i < (opts.dataBytes ?? 0); i++) w.u8(i);
  return Uint8Array.from(w.parts);
}

export const BENIGN_TEMPLATES: Record<string, string> = {
  chatml: `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}`,
  llama3: `{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}`,
  mistral: `{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}`,
  gemma: `{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}`,
  deepseekTools: `{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is none %}{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '\`\`\`json' + '\\n' + tool['function']['arguments'] + '\\n' + '\`\`\`' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- endif %}{%- endfor %}{%- endif %}{%- endfor -%}{% if add_generation_prompt %}{{'<｜Assistant｜>'}}{% endif %}`,
  llama31Tools: `{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}{%- if strftime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- else %}{%- set date_string = "26 Jul 2024" %}{%- endif %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = "" %}{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}{{- "Environment: ipython\\n" }}{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}{%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\\n\\n" }}{%- endfor %}{%- endif %}
{{- system_message }}{{- "<|eot_id|>" }}
{%- for message in messages %}
  {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
  {%- elif 'tool_calls' in message %}
    {%- set tool_call = message.tool_calls[0].function %}
    {{- '{"name": "' + tool_call.name + '", "parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}{{- "<|eot_id|>" }}
  {%- else %}
    {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}{%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}{{- "<|eot_id|>" }}
  {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}`,
  phi3: `{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}{# comment with __class__ is not code #}`,
};

/** Injection payloads from public write-ups (CVE-2024-34359, Jinja SSTI cheat sheets) and variants. */
export const MALICIOUS_TEMPLATES: Record<string, { template: string; severity: 'critical' | 'high' | 'medium' }> = {
  cve202434359: {
    template: `{% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen("touch /tmp/retr0reg")}}{%endif%}{% endfor %}`,
    severity: 'critical',
  },
  cyclerGlobals: { template: `{{ cycler.__init__.__globals__.os.popen('id').read() }}`, severity: 'critical' },
  joinerGlobals: { template: `{{ joiner.__init__.__globals__.os.popen('id').read() }}`, severity: 'critical' },
  namespaceInit: { template: `{{ namespace.__init__.__globals__.os.popen('id').read() }}`, severity: 'critical' },
  lipsumGlobals: { template: `{{ lipsum.__globals__['os'].popen('id').read() }}`, severity: 'critical' },
  selfContext: { template: `{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}`, severity: 'critical' },
  requestApp: { template: `{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}`, severity: 'critical' },
  configClass: { template: `{{ config.__class__.__init__.__globals__['os'].popen('ls').read() }}`, severity: 'critical' },
  mroSubclasses: { template: `{{ ''.__class__.__mro__[1].__subclasses__() }}`, severity: 'critical' },
  attrHexEscapes: { template: `{{ lipsum|attr("\\x5f\\x5fglobals\\x5f\\x5f")|attr("\\x5f\\x5fgetitem\\x5f\\x5f")("os") }}`, severity: 'critical' },
  attrUnicodeEscapes: { template: `{{ ()|attr("\\u005f\\u005fclass\\u005f\\u005f") }}`, severity: 'critical' },
  tildeConcat: { template: `{{ ()|attr('__cla'~'ss__')|attr('__ba'~'se__') }}`, severity: 'critical' },
  plusConcat: { template: `{% set a = '__cla' + 'ss__' %}{{ ()[a] }}`, severity: 'critical' },
  adjacentLiterals: { template: `{{ ()['__cla' 'ss__'] }}`, severity: 'critical' },
  underscoreJoin: { template: `{% set c = ["_"*2, "class", "_"*2]|join %}{{ ()|attr(c) }}`, severity: 'high' },
  formatChars: { template: `{% set u = "%c"|format(95) %}{{ ()|attr(u*2 ~ "class" ~ u*2) }}`, severity: 'high' },
  dictJoin: { template: `{% set n = dict(cla=1, ss=2)|join %}{{ ()|attr(n) }}`, severity: 'high' },
  octalEscapes: { template: `{{ ()|attr("\\137\\137class\\137\\137") }}`, severity: 'critical' },
  fragmentWithVariable: { template: `{% set x = 'ass' %}{{ ()|attr('__cl' ~ x ~ '__') }}`, severity: 'high' },
  charExtraction: { template: `{% set u = (lipsum|string)[18] %}{{ ()|attr(u ~ u ~ 'class' ~ u ~ u) }}`, severity: 'high' },
  stringList: { template: `{% set chars = self|string|list %}{{ chars }}`, severity: 'high' },
  includeFile: { template: `{% include '/etc/passwd' %}`, severity: 'high' },
  importMacro: { template: `{% import 'os' as os %}{{ os }}`, severity: 'high' },
  privateAttr: { template: `{{ messages._private }}`, severity: 'high' },
  popenCall: { template: `{{ x.popen('id') }}`, severity: 'critical' },
  cyclerOnly: { template: `{{ cycler }}`, severity: 'medium' },
  hugeRange: { template: `{% for i in range(100000000000) %}x{% endfor %}`, severity: 'medium' },
};
