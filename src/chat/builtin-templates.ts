/**
 * Chat templates that ship with kielo, for models without one of their own (base models) and for
 * reproducing a reference prompt format exactly. Each is Jinja rendered the same way as a model's own
 * template (see chat-template.ts).
 */

/**
 * The classic Llama-2 chat format, as in the `meta-llama/Llama-2-*-chat-hf` tokenizer config:
 * `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] …`.
 * Roles must alternate user/assistant after the optional system message.
 */
const LLAMA_2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
  "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
  "{% for message in loop_messages %}" +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
  "{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}" +
  "{% endfor %}";

/** ChatML (`<|im_start|>role\n…<|im_end|>\n`), the format of Qwen and many others. No BOS. */
const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * The reference Q&A-with-context notebook's training string, reproduced character for character:
 * `<s> [INST] <<SYS>> {system} <</SYS>> \n{user}[/INST] {assistant}</s>`.
 * `<s>` and `</s>` are literal text here, as in the notebook (with a Llama tokenizer they become the
 * BOS and EOS tokens because they are special tokens of its vocabulary). Without a system message the
 * `<<SYS>> … <</SYS>> \n` part is left out. The generation prompt ends at `[/INST]`, so that it is a
 * token prefix of the full text (the answer's tokens start with the space before it).
 */
const QA_CONTEXT =
  "{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}{% set turns = messages[1:] %}" +
  "{% else %}{% set system_message = '' %}{% set turns = messages %}{% endif %}" +
  "{% if turns | length < 1 or turns | length > 2 or turns[0]['role'] != 'user' or (turns | length == 2 and turns[1]['role'] != 'assistant') %}" +
  "{{ raise_exception('the qa-context template renders one user turn and at most one assistant turn, after an optional system message') }}{% endif %}" +
  "{{ '<s> [INST] ' }}{% if system_message %}{{ '<<SYS>> ' + system_message + ' <</SYS>> \\n' }}{% endif %}" +
  "{{ turns[0]['content'] + '[/INST]' }}" +
  "{% if turns | length == 2 %}{{ ' ' + turns[1]['content'] + '</s>' }}{% endif %}";

export const BUILTIN_TEMPLATES: Readonly<Record<string, string>> = {
  "llama-2": LLAMA_2,
  chatml: CHATML,
  "qa-context": QA_CONTEXT,
};

export const BUILTIN_TEMPLATE_NAMES = Object.keys(BUILTIN_TEMPLATES);
