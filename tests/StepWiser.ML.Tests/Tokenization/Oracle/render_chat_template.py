#!/usr/bin/env python3
"""Renders conversations with a model's own Jinja chat template, the way Hugging Face transformers'
apply_chat_template does (sandboxed Jinja2, trim_blocks + lstrip_blocks, loopcontrols, tojson, the special tokens
of the config such as bos_token as variables, continue_final_message truncation). The oracle of ChatTemplateTests.

  render_chat_template.py TOKENIZER_CONFIG < cases.json > rendered.json
      cases.json: [{"messages": [{"role","content"}...], "add_generation_prompt": bool,
                    "enable_thinking": bool, "continue_final_message": bool}, ...]
      prints the same list with "rendered" added to every case.
  render_chat_template.py TOKENIZER_CONFIG --build DATA_DIR > chat_template_golden.json
      builds the test conversations from real data (ProcessBench, GSM8K, MATH-500) and renders them.
"""
import json
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox


def special_tokens(config_path):
    """The config's special tokens as template variables (a token may be a string or an object with "content")."""
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    tokens = {}
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = config.get(name)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            tokens[name] = value
    return tokens


def load_template(config_path):
    with open(config_path, encoding="utf-8") as f:
        template = json.load(f)["chat_template"]
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False, **kw)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def render(template, case, tokens):
    rendered = template.render(
        **tokens,
        messages=case["messages"],
        add_generation_prompt=case.get("add_generation_prompt", False),
        enable_thinking=case.get("enable_thinking", True))
    if case.get("continue_final_message"):
        final = case["messages"][-1]["content"]
        loc = rendered.rindex(final.strip())
        if rendered[loc:loc + len(final.lstrip())] == final:
            rendered = rendered[:loc + len(final.lstrip())]
        else:
            rendered = rendered[:loc + len(final.strip())]
    return rendered


def build_cases(data_dir):
    with open(f"{data_dir}/processbench/gsm8k.json", encoding="utf-8") as f:
        processbench = json.load(f)[:8]
    with open(f"{data_dir}/math500/test.jsonl", encoding="utf-8") as f:
        math = [json.loads(line) for line in f][:6]
    with open(f"{data_dir}/gsm8k/test.jsonl", encoding="utf-8") as f:
        gsm = [json.loads(line) for line in f][:6]
    system = "Please reason step by step, and put your final answer within \\boxed{}."
    cases = []
    for i, r in enumerate(processbench):
        steps = r["steps"]
        solution = "\n\n".join(steps)
        cases.append({"messages": [{"role": "user", "content": r["problem"]}], "add_generation_prompt": True})
        cases.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": r["problem"]}],
                      "add_generation_prompt": True, "enable_thinking": i % 2 == 0})
        cases.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": r["problem"]},
                                   {"role": "assistant", "content": solution}]})
        half = "\n\n".join(steps[:max(1, len(steps) // 2)])
        cases.append({"messages": [{"role": "user", "content": r["problem"]}, {"role": "assistant", "content": half}],
                      "continue_final_message": True})
    for i, m in enumerate(math):
        think = "<think>\nLet me work this out.\n\n" + m["solution"][:200] + "\n</think>\n\n" + "The answer is $\\boxed{" + m["answer"] + "}$."
        cases.append({"messages": [{"role": "user", "content": m["problem"]}, {"role": "assistant", "content": think},
                                   {"role": "user", "content": "Check your answer."}], "add_generation_prompt": True})
        cases.append({"messages": [{"role": "user", "content": m["problem"]}, {"role": "assistant", "content": think}]})
        cases.append({"messages": [{"role": "user", "content": m["problem"]}, {"role": "assistant", "content": m["solution"]},
                                   {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"},
                                   {"role": "assistant", "content": "Because " + m["answer"]}],
                      "add_generation_prompt": False})
    for g in gsm:
        question, answer = g["question"], g["answer"]
        cases.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": question},
                                   {"role": "assistant", "content": answer.split("####")[0].rstrip()}],
                      "continue_final_message": True})
    return cases


def main():
    template = load_template(sys.argv[1])
    tokens = special_tokens(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--build":
        cases = build_cases(sys.argv[3])
    else:
        cases = json.load(sys.stdin)
    for case in cases:
        case["rendered"] = render(template, case, tokens)
    json.dump(cases, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
