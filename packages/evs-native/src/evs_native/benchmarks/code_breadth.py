"""More code benchmarks: MBPP, MBPP+, HumanEval+, MultiPL-E (HumanEval and MBPP in many languages).

Every program runs in :mod:`evs_native.sandbox`:

* MBPP and MBPP+ in its ``asserts`` mode: the program's functions stay in the sandboxed
  candidate process, the problem's assert statements run in the checker and call them by name;
* HumanEval+ in the ``check`` mode of ``humaneval``;
* MultiPL-E in the ``command`` mode: the checker writes the program (the model's code followed by
  the problem's tests, as MultiPL-E builds it) and runs its compile and run steps as its own
  processes; the program passes when every step exits with status 0.

Prompts and extraction follow EvalScope's adapters (``mbpp``, ``mbpp_plus``, ``humaneval_plus``,
``multiple_humaneval``, ``multiple_mbpp``); the extraction helpers below re-state EvalScope's code
utilities (fenced blocks with language aliases, its heuristics, stop tokens, import helpers).
"""

from __future__ import annotations

import ast
import builtins
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import Extraction, answer_region
from evs_core.schema import ModelOutput, Review, Sample

from evs_native.benchmarks.humaneval import HumanEval

log = logging.getLogger("evs.eval")

# -- EvalScope's free-form code extraction ---------------------------------------------------------
_FENCED = re.compile(r"```([^\n]*)\n(.*?)\n\s*```", re.DOTALL | re.MULTILINE)
_OPEN_FENCE = re.compile(r"```([^\n]*)\n(.*)", re.DOTALL | re.MULTILINE)
LANGUAGE_ALIASES: dict[str, list[str]] = {
    "python": ["python", "Python", "py", "Python3", "python3", "PY"],
    "cpp": ["cpp", "c++", "C++", "Cpp", "CPP"],
    "nodejs": ["javascript", "Javascript", "JavaScript", "JS", "js"],
    "go": ["go", "Go"],
    "java": ["java", "Java"],
    "csharp": ["csharp", "c#", "C#"],
    "bash": ["bash", "Bash", "BASH", "sh", "shell"],
    "typescript": ["typescript"],
    "rust": ["rust", "Rust", "rs"],
    "sql": ["sql", "SQL", "Sql"],
    "d": ["D", "d"],
    "julia": ["julia", "Julia", "jl"],
    "lua": ["lua", "Lua"],
    "php": ["php", "PHP"],
    "perl": ["perl", "Perl", "PERL"],
    "r": ["R", "r"],
    "ruby": ["ruby", "Ruby"],
    "scala": ["scala", "Scala"],
    "kotlin": ["kotlin", "Kotlin"],
    "c": ["c", "C"],
    "html": ["html", "Html", "HTML"],
    "javascript": ["javascript", "Javascript", "JavaScript"],
    "verilog": ["verilog", "Verilog", "VERILOG"],
    "racket": ["racket"],
    "swift": ["swift"],
}
# A tag listed under two languages belongs to the later one (as EvalScope's table resolves it).
_TAG_LANGUAGE = {alias: lang for lang, aliases in LANGUAGE_ALIASES.items() for alias in aliases}


_REASONING_TAG = re.compile(r"</?(?:think|thinking|reasoning)>", re.IGNORECASE)


def without_reasoning(text: str | None) -> str:
    """The reply without a reasoning model's ``<think>`` block (indentation of the rest kept)."""
    text = text or ""
    return answer_region(text) if _REASONING_TAG.search(text) else text


def _blocks(pattern: re.Pattern, text: str, priority: int) -> list[tuple[int, str, str]]:
    return [(priority, _TAG_LANGUAGE.get(tag.strip(), ""), code) for tag, code in pattern.findall(text)]


def _heuristic_blocks(text: str, language: str) -> list[tuple[int, str, str]]:
    """Code without fences: Python definitions (with the imports and comments above them), or
    for bash every non-empty line."""
    lines = "\n".join(line for line in text.split("\n") if line.strip() != "") + "\n"
    if language == "python":
        found = re.findall(r"(?:^(?:import|from|#)[^\n]+\n)*^(?:def|class) [^\n]+\n(?:\s+[^\n]+\n)+", lines, re.M)
        return [(10, "python", m) for m in found]
    if language == "bash":
        return [(10, "bash", lines)]
    return []


def freeform_code(completion: str, language: str = "", first_block_only: bool = False) -> tuple[str, str]:
    """(code, how) from a free-form reply: the complete fenced blocks; else an unterminated fenced
    block (the model ran out of tokens); else the language's heuristic. ``first_block_only``: the
    first of them, else all joined. Then the language's clean-ups (Python: cut at the
    ``if __name__ == "__main__":`` line; C++: at ``int main()``; Go: no ``package main``; any:
    cut at ``# Example usage``). ``how``: fenced | incomplete_fenced | heuristic | empty."""
    how = "empty"
    blocks = _blocks(_FENCED, completion, 30)
    if blocks:
        how = "fenced"
    else:
        blocks = _blocks(_OPEN_FENCE, completion, 20)
        if blocks:
            how = "incomplete_fenced"
        else:
            blocks = _heuristic_blocks(completion, language)
            if blocks:
                how = "heuristic"
    if first_block_only:
        code = blocks[0][2].replace("\r", "") if blocks else ""
    else:
        code = "\n\n".join(b[2] for b in blocks).replace("\r", "")
    if language == "python":
        if 'if __name__ == "__main__":' in code:
            code = code[:code.index('if __name__ == "__main__":')].strip()
    elif language == "cpp":
        if "int main()" in code:
            code = code[:code.index("int main()")].strip()
    elif language == "java":
        if "public class Main {\n" in code:
            code = code.replace("public class Main {\n", "class Solution {\n")
            code = code.replace("public static void main(String[] args)", "")
    elif language == "go":
        code = code.replace("package main", "")
    if "# Example usage" in code:
        code = code[:code.index("# Example usage")].strip()
    return code, how


def best_block(completion: str, language: str = "") -> str:
    """EvalScope's default helper: fenced blocks, heuristic blocks and unterminated blocks together;
    of those with the highest priority, the first tagged ``language``, else the first."""
    blocks = (_blocks(_FENCED, completion, 30) + _heuristic_blocks(completion, language)
              + _blocks(_OPEN_FENCE, completion, 20))
    if not blocks:
        return ""
    top = max(b[0] for b in blocks)
    blocks = [b for b in blocks if b[0] == top]
    tagged = [b for b in blocks if b[1] == language]
    return (tagged or blocks)[0][2]


# -- MBPP and MBPP+ ---------------------------------------------------------------------------------
MBPP_PROMPT = ("You are an expert Python programmer, and here is your task: {question} Your code should pass "
               "these tests:\n\n{tests}")
# EvalScope's fixed 3-shot prompt (the three examples of MBPP's prompt split, their code with CRLF).
MBPP_FEWSHOT_PROMPT = (
    "You are an expert Python programmer, and here is your task: Write a function to find the similar elements "
    "from the given two tuple lists. Your code should pass these tests:\n\n"
    "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"
    "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)\n"
    "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)\n"
    "[BEGIN]\ndef similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n"
    "  return (res)\n[DONE]\n"
    "You are an expert Python programmer, and here is your task: Write a python function to identify non-prime "
    "numbers. Your code should pass these tests:\n\n"
    "assert is_not_prime(2) == False\nassert is_not_prime(10) == True\nassert is_not_prime(35) == True\n"
    "[BEGIN]\nimport math\r\ndef is_not_prime(n):\r\n    result = False\r\n"
    "    for i in range(2,int(math.sqrt(n)) + 1):\r\n        if n % i == 0:\r\n            result = True\r\n"
    "    return result\n[DONE]\n"
    "You are an expert Python programmer, and here is your task: Write a function to find the largest integers "
    "from a given list of numbers using heap queue algorithm. Your code should pass these tests:\n\n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65]\n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75]\n"
    "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]\n"
    "[BEGIN]\nimport heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  largest_nums = hq.nlargest(n, nums)\r\n"
    "  return largest_nums\n[DONE]\n"
    "You are an expert Python programmer, and here is your task: {question} Your code should pass these tests:"
    "\n\n{tests}\n[BEGIN]\n"
)
MBPP_STOP_WORDS = ("\nassert", '\n"""')


def mbpp_code(completion: str) -> Extraction:
    """EvalScope's MBPP post-processing: the reply up to ``[DONE]``, its first code block (fenced,
    unterminated, or Python definitions found heuristically), cut at the first ``\\nassert`` or
    ``\\n\"\"\"`` and at ``if __name__ ==``. The reasoning block of a reasoning model is left out first."""
    text = without_reasoning(completion)
    if "[DONE]" in text:
        text = text[:text.index("[DONE]")]
    code, how = freeform_code(text, "python", first_block_only=True)
    for stop in MBPP_STOP_WORDS:
        i = code.find(stop)
        if i != -1:
            code = code[:i]
    if "if __name__ ==" in code:
        code = code[:code.index("if __name__ ==")]
    return Extraction(code if code.strip() else None, how if code.strip() else "none")


def names_used(*sources: str) -> list[str]:
    """The global names the test code reads that are not builtins, in first-use order."""
    seen: dict[str, None] = {}
    for src in sources:
        try:
            tree = ast.parse(src or "")
        except SyntaxError:
            for name in re.findall(r"[A-Za-z_]\w*", src or ""):
                seen.setdefault(name, None)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                seen.setdefault(node.id, None)
    return [n for n in seen if not hasattr(builtins, n)]


def _review_timeout(args: dict[str, Any]) -> None:
    """EvalScope's ``review_timeout`` (seconds per program) sets ``timeout`` when given."""
    if args.get("review_timeout") is not None:
        args["timeout"] = args["review_timeout"]


def classes_used(reference: str, tests: str) -> list[str]:
    """The classes the reference solution defines that the tests name (MBPP's ``Pair``)."""
    try:
        defined = {n.name for n in ast.walk(ast.parse(reference or "")) if isinstance(n, ast.ClassDef)}
    except SyntaxError:
        return []
    return [n for n in names_used(tests) if n in defined]


def _positive_timeout(name: str, args: dict[str, Any]) -> None:
    _review_timeout(args)
    t = args["timeout"]
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
        raise ConfigError(f"dataset_args.{name}.timeout must be a positive number of seconds, not {t!r}")
    m = args["memory_mb"]
    if not isinstance(m, int) or isinstance(m, bool) or m < 64:
        raise ConfigError(f"dataset_args.{name}.memory_mb must be an integer of at least 64, not {m!r}")


def _need(name: str, record: dict[str, Any], index: int, fields: tuple[str, ...]) -> None:
    for f in fields:
        if f not in record:
            raise ConfigError(f"{name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(x) for x in (value or [])]


class _AssertsBenchmark(Benchmark):
    """Python problems whose tests are statements naming the program's functions."""

    tags = ["code", "python"]
    eval_split = "test"
    few_shot_num = 0
    metrics = ["pass"]
    primary_metric = "pass"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}
    extra_args: ClassVar[dict[str, Any]] = {"timeout": 20.0, "memory_mb": 2048, "sandbox": "bwrap"}

    def _check_args(self) -> None:
        super()._check_args()
        _positive_timeout(self.name, self.args)
        from evs_native.benchmarks._code_sandbox import check_sandbox

        check_sandbox(self.name, self.args)

    def extract(self, text: str, sample: Sample) -> Any:
        return mbpp_code(text)

    def program(self, code: str, sample: Sample) -> str:
        return code

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native import sandbox

        if output.error:
            return failed_review(sample, output, ctx, output.error, target=None)
        found = self.extract(output.text, sample)
        code = self.program(found.answer or "", sample)
        m = sample.metadata
        tests = {"prompt": m["setup"], "test": m["tests"], "names": names_used(m["tests"]),
                 "in_process": bool(m.get("in_process"))}
        limits = sandbox.Limits(timeout=float(self.args["timeout"]), memory_mb=int(self.args["memory_mb"]))
        result = await sandbox.arun(code, mode="asserts", tests=tests, limits=limits, isolation=self.args["sandbox"])
        return make_review(sample, output, ctx, target=None, extracted=code, extraction_rule=found.rule,
                           scores={"pass": float(result.passed)},
                           metadata={"status": result.status, "isolation": result.details.get("isolation"),
                                     **({"in_process": True} if result.details.get("in_process") else {}),
                                     **({"detail": result.error} if result.error else {})})


class MBPP(_AssertsBenchmark):
    name = "mbpp"
    version = "1"
    num_samples = 500
    description = (
        "MBPP (Austin et al., 2021): 500 entry-level Python problems (the 'full' test split), each with "
        "three assert tests. Scoring as EvalScope's mbpp adapter: its fixed 3-shot prompt ([BEGIN]/[DONE]; "
        "few_shot_num 0 gives the plain prompt), the code is the reply up to [DONE], its first code block, "
        "cut at the first '\\nassert' or '\\n\"\"\"' and at 'if __name__ ==', with the problem's test_setup_code "
        "before it; it passes when the three asserts pass. Metric: pass (pass@k over --repeats, unbiased "
        "estimator). Runs in the sandbox (bubblewrap, no network). Deviation: the asserts run in a checker "
        "process apart from the program and call its functions with plain data (numbers, strings, "
        "containers); modules the program imported are imported again there under the same names; problems "
        "whose tests build objects of a class the reference solution defines run their tests in the program's "
        "process (review metadata in_process)."
    )
    hf_id = "google-research-datasets/mbpp"
    ms_id = "google-research-datasets/mbpp"
    subsets = ["full"]
    fewshot_split = "prompt"
    few_shot_num = 3
    prompt_template = MBPP_PROMPT

    FIELDS = ("task_id", "text", "test_list")

    def _check_args(self) -> None:
        super()._check_args()
        if self.args["few_shot_num"] not in (0, 3):
            raise ConfigError(f"dataset_args.mbpp.few_shot_num must be 0 or 3 (EvalScope's fixed 3-shot prompt), "
                              f"not {self.args['few_shot_num']!r}")

    def fewshot_samples(self, subset: str) -> list[Sample]:
        return []  # the three examples are part of the fixed few-shot prompt

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, self.FIELDS)
        tests = _lines(record["test_list"])
        template = MBPP_FEWSHOT_PROMPT if self.args["few_shot_num"] else MBPP_PROMPT
        setup = str(record.get("test_setup_code") or "")
        return Sample(id=str(record["task_id"]), subset=subset,
                      input=template.format(question=record["text"], tests="\n".join(tests)),
                      target=record.get("code"), metadata={"setup": setup, "tests": "\n".join(tests),
                                                           "in_process": bool(classes_used(str(record.get("code") or ""),
                                                                                           "\n".join(tests)))})

    def program(self, code: str, sample: Sample) -> str:
        code = "\n".join([sample.metadata["setup"], code])  # EvalScope puts the setup before the code
        return code[:code.index("if __name__ ==")] if "if __name__ ==" in code else code


class MBPPPlus(_AssertsBenchmark):
    name = "mbpp_plus"
    version = "1"
    num_samples = 378
    description = (
        "MBPP+ (EvalPlus, Liu et al., 2023): 378 sanitized MBPP problems with many more test inputs. Prompt "
        "and extraction as EvalScope's mbpp_plus adapter (0-shot; the problem text and its three asserts; "
        "first code block cut at '\\nassert', '\\n\"\"\"' and 'if __name__ =='). Tests: by default EvalPlus's "
        "own plus tests (the row's test_imports and test: every input, outputs compared as EvalPlus's "
        "assertion does, floats with its tolerance); tests='base' runs only the three asserts, which is "
        "what EvalScope's adapter appends. Metric: pass (pass@k over --repeats). Sandbox as mbpp; the "
        "tests run in a checker apart from the program (plain data in and out)."
    )
    hf_id = "evalplus/mbppplus"
    ms_id = "evalscope/mbppplus"
    subsets = ["default"]
    prompt_template = MBPP_PROMPT
    extra_args: ClassVar[dict[str, Any]] = {**_AssertsBenchmark.extra_args, "tests": "plus"}

    FIELDS = ("task_id", "prompt", "test_list", "test")

    def _check_args(self) -> None:
        super()._check_args()
        if self.args["tests"] not in ("plus", "base"):
            raise ConfigError(f"dataset_args.mbpp_plus.tests must be 'plus' or 'base', not {self.args['tests']!r}")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, self.FIELDS)
        base = _lines(record["test_list"])
        if self.args["tests"] == "plus":
            setup, tests = "\n".join(_lines(record.get("test_imports"))), str(record["test"])
        else:
            setup, tests = "", "\n".join(base)
        return Sample(id=str(record["task_id"]), subset=subset,
                      input=MBPP_PROMPT.format(question=record["prompt"], tests="\n".join(base)),
                      target=record.get("code"), metadata={"setup": setup, "tests": tests, "in_process": bool(
                          classes_used(str(record.get("code") or ""), tests))})


class HumanEvalPlus(HumanEval):
    name = "humaneval_plus"
    num_samples = 164
    version = "1"
    description = (
        "HumanEval+ (EvalPlus, Liu et al., 2023): HumanEval's 164 problems with EvalPlus's extended tests "
        "(hundreds of inputs each, outputs compared by its assertion with float tolerance). Prompt as "
        "EvalScope's humaneval_plus adapter (the humaneval prompt); the program run is prompt + code + "
        "the row's test + check(entry_point). Extraction as evs's humaneval (the fenced block defining the "
        "entry point, with the helpers it uses); EvalScope takes the first fenced block, which is the same "
        "for a one-block reply. Metric: pass (pass@k over --repeats). Sandbox and checker as humaneval; "
        "default timeout 60 s per problem for all its tests (EvalScope: 300 s)."
    )
    hf_id = "evalplus/humanevalplus"
    ms_id = "evalscope/humanevalplus"
    subsets = ["default"]
    extra_args: ClassVar[dict[str, Any]] = {"timeout": 60.0, "memory_mb": 2048, "sandbox": "bwrap"}

    def _check_args(self) -> None:
        _review_timeout(self.args)
        super()._check_args()


# -- MultiPL-E -----------------------------------------------------------------------------------
MULTIPLE_INSTRUCTION = ("Please complete the above code according to the requirements in the docstring. Write the "
                        "complete code and wrap it in markdown fenced code. The code should not contain `Main` "
                        "function.")
MULTIPLE_LANGUAGES = ["cpp", "ts", "sh", "cs", "go", "java", "lua", "js", "php", "pl", "rkt", "r", "rs", "scala",
                      "swift", "rb", "d", "jl"]
_EXTRACT_LANG = {"ts": "typescript", "js": "js", "rkt": "racket", "rb": "ruby", "rs": "rust", "jl": "julia",
                 "sh": "bash", "d": "d", "go_test.go": "go", "pl": "perl", "cs": "cs"}
# Languages whose code is read by EvalScope's default helper rather than the first fenced block.
_HELPER_LANGS = {"typescript", "go", "perl", "racket", "lua", "julia", "d", "js", "php", "r", "ruby"}
_IMPORT_HELPER = {
    "cpp": ["using namespace std;", "#include<optional>", "#include<cassert>", "#include<stdlib.h>",
            "#include<algorithm>", "#include<cmath>", "#include<math.h>", "#include<numeric>", "#include<stdio.h>",
            "#include<vector>", "#include<set>", "#include<map>", "#include<queue>", "#include<stack>",
            "#include<list>", "#include<deque>", "#include<boost/any.hpp>", "#include<string>",
            "#include<climits>", "#include<cstring>", "#include<iostream>", "#include<sstream>",
            "#include<fstream>"],
    "java": ["import java.util.*;", "import java.lang.reflect.*;", "import org.javatuples.*;",
             "import java.security.*;", "import java.math.*;", "import java.io.*;", "import java.util.stream.*;"],
    "go": ['import ("fmt")'],
    "d": ["import std.array;", "import std.algorithm;"],
}


def extract_language(language: str) -> str:
    """The code-fence language of a MultiPL-E language id (``rs`` -> ``rust``), as EvalScope maps it."""
    return _EXTRACT_LANG.get(language, language)


def _trim_stop_tokens(text: str, stop_tokens: list[str]) -> str:
    for st in stop_tokens or []:
        if not st:
            continue
        if st.startswith("re:"):
            m = re.compile(st[3:].strip()).search(text)
            if m:
                text = text[:m.start()]
        else:
            i = text.find(st)
            if i != -1:
                text = text[:i]
    return text


def _remove_main(code: str, lang: str) -> str:
    token = {"d": "void main", "csharp": "public static void Main"}.get(lang)
    if token and token in code:
        return code[:code.index(token)]
    return code


def _go_layout(code: str) -> str:
    """Go: one header with the package clauses and every import, then the rest."""
    packages = set(re.findall(r"package\s+(\w+)", code))
    body = re.sub(r"package\s+\w+\s*", "", code)
    single = re.findall(r'import\s+(".*?")', body)
    multi: list[str] = []
    for blk in re.findall(r"import\s*\((.*?)\)", body, flags=re.DOTALL):
        multi.extend(ln.strip() for ln in blk.split("\n") if ln.strip())
    imports = {i for i in single + multi if i}
    body = re.sub(r'import\s+(".*?")', "", body)
    body = re.sub(r"import\s*\((.*?)\)", "", body, flags=re.DOTALL)
    header = "\n\n".join(s for s in ["\n".join(f"package {p}" for p in packages),
                                     "\n".join(f"import {i}" for i in sorted(imports))] if s)
    return f"{header}\n\n{body}".strip()


def multiple_program(prediction: str, language: str, stop_tokens: list[str], tests: str) -> tuple[str, str]:
    """(full program, the model's code) as EvalScope's MultiPL-E adapters build it: the model's code
    (EvalScope's default helper for the languages it names, else the first fenced block cut at the
    problem's stop tokens), a language's main removed (D, C#), the language's import helper lines
    before it, Go's package/import header rebuilt, then the problem's tests; Java's ``class
    Problem`` becomes ``class Main``."""
    lang = extract_language(language)
    text = without_reasoning(prediction)
    if lang in _HELPER_LANGS:
        code = _remove_main(best_block(text, lang), lang)
    else:
        code, _ = freeform_code(text, lang, first_block_only=True)
        code = _remove_main(_trim_stop_tokens(code, stop_tokens), lang)
    full = "\n".join(_IMPORT_HELPER.get(lang, [])) + "\n" + code
    if lang == "go":
        full = _go_layout(full)
    full = f"{full}\n{tests or ''}"
    if lang == "java":
        full = full.replace("class Problem", "class Main")
    if lang == "php" and "<?php" not in full:
        # MultiPL-E's PHP prompt opens with <?php; without it PHP would echo the tests and exit 0.
        full = "<?php\n" + full
    return full, code


def _which(*names: str) -> str | None:
    """The first of ``names`` on the sandbox's PATH (it sees /usr and the /bin links, not /opt or a home)."""
    for n in names:
        p = shutil.which(n, path="/usr/local/bin:/usr/bin:/bin")
        if p:
            return p
    return None


def _java_tuples() -> str | None:
    found = sorted(Path("/usr/share/java").glob("javatuples*.jar")) if Path("/usr/share/java").is_dir() else []
    return str(found[0]) if found else None


def _perl_module(rel: str) -> bool:
    return any((Path(d) / rel).is_file() for d in ("/usr/share/perl5", "/usr/local/share/perl",
                                                    "/usr/lib/x86_64-linux-gnu/perl5", "/usr/share/perl"))


def language_plan(language: str, timeout: float) -> tuple[dict[str, Any] | None, str | None]:
    """(how to run a program of ``language``, None) or (None, why it cannot run here).

    The plan: the file name of the program, the steps (compile, run) with their argv, the
    environment, the sandbox size; each step exits 0 when the program compiles and its tests pass,
    as MultiPL-E's evaluation scripts run them.
    """
    t = float(timeout)

    def steps(*argvs):
        names = ["compile", "run"] if len(argvs) == 2 else ["run"]
        return [{"name": n, "argv": a, "timeout": t} for n, a in zip(names, argvs, strict=True)]

    if language == "cpp":
        gxx = _which("g++")
        if not gxx:
            return None, "g++ is not installed (Debian: apt-get install g++)"
        if not Path("/usr/include/boost/any.hpp").is_file():
            return None, "the Boost headers are not installed (Debian: apt-get install libboost-dev)"
        return {"file": "main.cpp", "steps": steps([gxx, "-std=c++17", "-o", "main", "main.cpp"], ["./main"])}, None
    if language == "js":
        node = _which("node", "nodejs")
        if not node:
            return None, "Node.js is not installed (Debian: apt-get install nodejs)"
        return {"file": "main.js", "steps": steps([node, "main.js"])}, None
    if language == "ts":
        node, tsc = _which("node", "nodejs"), _which("tsc")
        if not (node and tsc):
            return None, "the TypeScript compiler tsc is not installed (Debian: apt-get install node-typescript)"
        return {"file": "main.ts", "steps": steps([tsc, "--target", "esnext", "main.ts"], [node, "main.js"])}, None
    if language == "sh":
        bash = _which("bash")
        if not bash:
            return None, "bash is not installed"
        return {"file": "main.sh", "steps": steps([bash, "main.sh"])}, None
    if language == "lua":
        lua = _which("lua", "lua5.4", "lua5.3")
        if not lua:
            return None, "Lua is not installed (Debian: apt-get install lua5.4)"
        if not list(Path("/usr/share/lua").glob("*/luaunit.lua")) + list(Path("/usr/local/share/lua").glob(
                "*/luaunit.lua")):
            return None, "LuaUnit, which MultiPL-E's Lua tests require, is not installed (Debian: apt-get install lua-unit)"
        return {"file": "main.lua", "steps": steps([lua, "main.lua"])}, None
    if language == "php":
        php = _which("php")
        if not php:
            return None, "PHP is not installed (Debian: apt-get install php-cli)"
        return {"file": "main.php", "steps": steps([php, "main.php"])}, None
    if language == "pl":
        perl = _which("perl")
        if not perl or not _perl_module("Test/Deep.pm"):
            return None, "perl with Test::Deep is not installed (Debian: apt-get install libtest-deep-perl)"
        run = steps([perl, "main.pl"])
        run[-1]["fail_markers"] = ["ERROR"]  # as MultiPL-E's Perl evaluation
        return {"file": "main.pl", "steps": run}, None
    if language == "rb":
        ruby = _which("ruby")
        if not ruby:
            return None, "Ruby is not installed (Debian: apt-get install ruby)"
        return {"file": "main.rb", "steps": steps([ruby, "main.rb"])}, None
    if language == "r":
        rscript = _which("Rscript")
        if not rscript:
            return None, "R is not installed (Debian: apt-get install r-base-core)"
        return {"file": "main.r", "steps": steps([rscript, "main.r"]), "memory_mb": 4096}, None
    if language == "rkt":
        racket = _which("racket")
        if not racket:
            return None, "Racket is not installed (Debian: apt-get install racket)"
        run = steps([racket, "main.rkt"])
        run[-1]["stderr_fails"] = True  # rackunit reports a failed check on stderr and still exits 0
        return {"file": "main.rkt", "steps": run, "memory_mb": 4096}, None
    if language == "jl":
        julia = _which("julia")
        if not julia:
            return None, "Julia is not installed"
        return {"file": "main.jl", "steps": steps([julia, "main.jl"]), "memory_mb": 8192, "max_processes": 256}, None
    if language == "rs":
        rustc = _which("rustc")
        if not rustc:
            return None, "rustc is not installed where the sandbox sees it (Debian: apt-get install rustc)"
        return {"file": "main.rs", "steps": steps([rustc, "-o", "main", "main.rs"], ["./main"]),
                "memory_mb": 4096, "tmp_mb": 256}, None
    if language == "go":
        go = _which("go")
        if not go:
            return None, "Go is not installed (Debian: apt-get install golang-go)"
        run = steps([go, "test", "main_test.go"])
        run[-1]["fail_markers"] = ["FAIL", "[setup failed]", "[build failed]"]  # as MultiPL-E's Go evaluation
        return {"file": "main_test.go", "steps": run, "memory_mb": 8192,
                "max_processes": 256, "tmp_mb": 512, "env": {"GOCACHE": "/tmp/gocache", "GOPATH": "/tmp/gopath",
                                                             "GO111MODULE": "off", "GOFLAGS": "-count=1"}}, None
    if language == "java":
        javac, java, tuples = _which("javac"), _which("java"), _java_tuples()
        if not (javac and java):
            return None, "a JDK is not installed (Debian: apt-get install default-jdk-headless)"
        if not tuples:
            return None, "the javatuples jar MultiPL-E's Java tests import is not in /usr/share/java"
        return {"file": "Main.java", "steps": steps([javac, "-cp", tuples, "Main.java"],
                                                    [java, "-ea", "-cp", f"{tuples}:.", "Main"]),
                "memory_mb": 8192, "max_processes": 256, "tmp_mb": 256}, None
    if language == "cs":
        mcs, mono = _which("mcs", "csc"), _which("mono")
        if not (mcs and mono):
            return None, "Mono (mcs, mono) is not installed (Debian: apt-get install mono-mcs)"
        run = steps([mcs, "-r:System.Numerics.dll", "-d:DEBUG", "-out:main.exe", "main.cs"], [mono, "main.exe"])
        # Mono exits 0 after a failed Debug.Assert: as MultiPL-E, the trace goes to stderr and is looked for.
        run[-1]["fail_markers"] = ["System.Diagnostics.DefaultTraceListener.Fail", "Unhandled Exception"]
        return {"file": "main.cs", "steps": run, "env": {"MONO_TRACE_LISTENER": "Console.Error"},
                "memory_mb": 4096, "max_processes": 256}, None
    if language == "scala":
        scalac, scala = _which("scalac"), _which("scala")
        if not (scalac and scala):
            return None, "Scala (scalac, scala) is not installed (Debian: apt-get install scala)"
        run = steps([scalac, "main.scala"], [scala, "Problem"])
        run[-1]["stderr_fails"] = True  # as MultiPL-E's Scala evaluation
        return {"file": "main.scala", "steps": run,
                "memory_mb": 8192, "max_processes": 256, "tmp_mb": 256}, None
    if language == "swift":
        swiftc = _which("swiftc")
        if not swiftc:
            return None, "the Swift compiler swiftc is not installed"
        return {"file": "main.swift", "steps": steps([swiftc, "-o", "main", "main.swift"], ["./main"]),
                "memory_mb": 8192, "max_processes": 256, "tmp_mb": 256}, None
    if language == "d":
        ldc = _which("ldc2")
        if not ldc:
            return None, "the D compiler ldc2 is not installed (Debian: apt-get install ldc)"
        return {"file": "main.d", "steps": steps([ldc, "-unittest", "-main", "-of=main", "main.d"], ["./main"]),
                "memory_mb": 4096, "tmp_mb": 256}, None
    return None, f"no runner for the language {language!r}"


class _MultiPLE(Benchmark):
    """MultiPL-E: HumanEval or MBPP translated to other languages; one subset per language."""

    tags = ["code", "multilingual"]
    hf_id = "nuprl/MultiPL-E"
    ms_id = "evalscope/MultiPL-E"
    eval_split = "test"
    few_shot_num = 0
    metrics = ["pass"]
    primary_metric = "pass"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}
    extra_args: ClassVar[dict[str, Any]] = {"timeout": 30.0, "memory_mb": 2048, "sandbox": "bwrap"}
    prompt_template = "```{language}\n{prompt}\n```\n\n" + MULTIPLE_INSTRUCTION
    source: ClassVar[str] = ""

    FIELDS = ("name", "language", "prompt", "tests")

    def _check_args(self) -> None:
        super()._check_args()
        _positive_timeout(self.name, self.args)
        from evs_native.benchmarks._code_sandbox import check_sandbox

        check_sandbox(self.name, self.args)
        self.skipped: dict[str, str] = {}
        self._plans: dict[str, dict[str, Any]] = {}
        for subset in self.args["subset_list"]:
            plan, why = language_plan(subset.split("-", 1)[1], float(self.args["timeout"]))
            if plan is None:
                self.skipped[subset] = why or "no runner"
            else:
                self._plans[subset] = plan
        if not self._plans:
            raise ConfigError(f"{self.name}: no selected language can run here: "
                              + "; ".join(f"{s}: {w}" for s, w in self.skipped.items()))
        if self.skipped:
            log.warning("%s: skipping %d of %d languages whose toolchain is absent: %s", self.name,
                        len(self.skipped), len(self.args["subset_list"]),
                        "; ".join(f"{s} ({w})" for s, w in self.skipped.items()))

    def selected_subsets(self) -> list[str]:
        return [s for s in super().selected_subsets() if s not in self.skipped]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, self.FIELDS)
        language = str(record["language"])
        stop = record.get("stop_tokens") or []
        if isinstance(stop, str):
            stop = json.loads(stop) if stop.startswith("[") else [stop]
        return Sample(id=f"{subset}/{record['name']}", subset=subset,
                      input=f"```{extract_language(language)}\n{record['prompt']}\n```\n\n{MULTIPLE_INSTRUCTION}",
                      target=None, metadata={"name": record["name"], "language": language, "tests": record["tests"],
                                             "stop_tokens": list(stop)})

    def extract(self, text: str, sample: Sample) -> Any:
        m = sample.metadata
        full, code = multiple_program(text, m["language"], m["stop_tokens"], m["tests"])
        return Extraction(full if code.strip() else None, "code" if code.strip() else "none")

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native import sandbox

        if output.error:
            return failed_review(sample, output, ctx, output.error, target=None)
        found = self.extract(output.text, sample)
        plan = self._plans[sample.subset]
        if found.answer is None:
            return make_review(sample, output, ctx, target=None, extracted="", extraction_rule="none",
                               scores={"pass": 0.0}, metadata={"status": "no code"})
        limits = sandbox.Limits(timeout=float(self.args["timeout"]),
                                memory_mb=max(int(self.args["memory_mb"]), int(plan.get("memory_mb", 0))),
                                max_processes=int(plan.get("max_processes", 64)), tmp_mb=int(plan.get("tmp_mb", 64)))
        tests = {"files": {plan["file"]: found.answer}, "steps": plan["steps"], "env": plan.get("env") or {}}
        result = await sandbox.arun("", mode="command", tests=tests, limits=limits, isolation=self.args["sandbox"])
        meta = {"status": result.status, "isolation": result.details.get("isolation"),
                "language": sample.metadata["language"]}
        if result.error:
            meta["detail"] = result.error
        if result.details.get("step"):
            meta["step"] = result.details["step"]
        return make_review(sample, output, ctx, target=None, extracted=found.answer, extraction_rule=found.rule,
                           scores={"pass": float(result.passed)}, metadata=meta)

    def after_report(self, report: Any, report_path: Path) -> Any:
        """Name the languages left out (toolchain absent) in the report, next to the scored ones."""
        if not self.skipped:
            return
        from evs_core.outputs import atomic_write_text

        data = json.loads(Path(report_path).read_text(encoding="utf-8"))
        data.setdefault("config", {})["skipped_subsets"] = dict(self.skipped)
        atomic_write_text(report_path, json.dumps(data, indent=2, ensure_ascii=False))


_MULTIPLE_DESCRIPTION = (
    "MultiPL-E (Cassano et al., 2023): {what} translated to 18 languages, one subset per language "
    "({prefix}-cpp, -js, -sh, ...). Prompt, extraction and program as EvalScope's {name} adapter: the problem's "
    "prompt in a fenced block of its language plus the instruction to complete it; the code is the first fenced "
    "block (cut at the problem's stop tokens) or, for the languages EvalScope lists, its default block helper; "
    "the language's import helper lines come first and the problem's tests after. It passes when the program "
    "compiles and runs to exit status 0, as MultiPL-E's own evaluation judges it (EvalScope runs it in a "
    "remote sandbox; evs in its local bubblewrap sandbox, no network). Languages whose toolchain is absent here "
    "are skipped with one warning line and listed in the report's config.skipped_subsets. Metric: pass "
    "(pass@k over --repeats). Deviation: a PHP program without '<?php' gets it first (MultiPL-E's PHP prompt "
    "opens with it; without it PHP would echo the tests and exit 0)."
)


class MultipleHumanEval(_MultiPLE):
    name = "multiple_humaneval"
    version = "1"
    num_samples = None
    description = _MULTIPLE_DESCRIPTION.format(what="HumanEval's problems", prefix="humaneval",
                                               name="multiple_humaneval")
    subsets = [f"humaneval-{lang}" for lang in MULTIPLE_LANGUAGES]


class MultipleMBPP(_MultiPLE):
    name = "multiple_mbpp"
    version = "1"
    num_samples = None
    description = _MULTIPLE_DESCRIPTION.format(what="MBPP's sanitized problems", prefix="mbpp", name="multiple_mbpp")
    subsets = [f"mbpp-{lang}" for lang in MULTIPLE_LANGUAGES]


# -- BigCodeBench ------------------------------------------------------------------------------------
def library_missing(libs: Any) -> list[str]:
    """The libraries of a task (its ``libs`` field, a list or its repr) that this Python cannot import."""
    import importlib.util

    if isinstance(libs, str):
        try:
            libs = ast.literal_eval(libs) if libs.strip() else []
        except (ValueError, SyntaxError):
            libs = re.findall(r"[A-Za-z_][\w.]*", libs)
    out = []
    for lib in libs or []:
        top = str(lib).split(".")[0]
        try:
            found = importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(str(lib))
    return out


class BigCodeBench(Benchmark):
    name = "bigcodebench"
    version = "1"
    num_samples = 1140
    description = (
        "BigCodeBench (Zhuo et al., 2024): 1,140 practical Python tasks calling 139 libraries, each checked by "
        "a unittest TestCases class. Prompt and extraction as EvalScope's bigcodebench adapter: the task's "
        "instruct_prompt (prompt_mode=complete: complete_prompt), the reply's first code block (the whole reply "
        "when it has none), calibrated by default with the code_prompt + '\\n    pass\\n' before it; program = "
        "solution + the task's test. Harness as BigCodeBench's own (its evaluate/untrusted_check): the program "
        "runs as module __test__ in a fresh directory with TZ=UTC, exit/quit removed and its output swallowed, "
        "every test of TestCases runs, and the task passes when none fails or errors. Runs in the sandbox "
        "(bubblewrap, no network; default 240 s and 30 GB address space per task, as BigCodeBench). A task "
        "whose libraries are not installed here is not run: it is recorded as an error 'missing libraries: "
        "...' and left out of the score. Metric: pass (pass@k over --repeats). Deviation: as in "
        "BigCodeBench's harness, the tests share the program's process, so the verdict is the program's "
        "own report (contained by the sandbox, not vouched for by a separate checker)."
    )
    tags = ["code", "python"]
    hf_id = "bigcode/bigcodebench"
    ms_id = "evalscope/bigcodebench"
    subsets = ["default"]
    eval_split = "v0.1.4"
    few_shot_num = 0
    metrics = ["pass"]
    primary_metric = "pass"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}
    extra_args: ClassVar[dict[str, Any]] = {"prompt_mode": "instruct", "calibrate": True, "timeout": 240.0,
                                            "memory_mb": 30720, "sandbox": "bwrap"}

    FIELDS = ("task_id", "complete_prompt", "instruct_prompt", "code_prompt", "test", "entry_point")

    def _evalscope_args(self) -> None:
        # EvalScope's extra_params: split (complete | instruct) and version (the dataset's split).
        extra = self.args.get("extra_params")
        if isinstance(extra, dict) and ("split" in extra or "version" in extra):
            extra = dict(extra)

            def value(v):
                return v["value"] if isinstance(v, dict) and "value" in v else v

            if "split" in extra:
                self.args["prompt_mode"] = value(extra.pop("split"))
            if "version" in extra:
                v = value(extra.pop("version"))
                if v not in (None, "", "default"):
                    self.args["eval_split"] = v
            self.args["extra_params"] = extra
        super()._evalscope_args()

    def _check_args(self) -> None:
        super()._check_args()
        if self.args["prompt_mode"] not in ("instruct", "complete"):
            raise ConfigError(f"dataset_args.{self.name}.prompt_mode must be 'instruct' or 'complete', "
                              f"not {self.args['prompt_mode']!r}")
        if not isinstance(self.args["calibrate"], bool):
            raise ConfigError(f"dataset_args.{self.name}.calibrate must be true or false")
        _positive_timeout(self.name, self.args)
        from evs_native.benchmarks._code_sandbox import check_sandbox

        check_sandbox(self.name, self.args)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, self.FIELDS)
        return Sample(id=str(record["task_id"]), subset=subset, input=str(record[f"{self.args['prompt_mode']}_prompt"]),
                      target=record.get("canonical_solution"),
                      metadata={"code_prompt": record["code_prompt"], "test": record["test"],
                                "entry_point": record["entry_point"], "libs": record.get("libs")})

    def extract(self, text: str, sample: Sample) -> Any:
        reply = without_reasoning(text)
        code, how = freeform_code(reply, "python", first_block_only=True)
        if not code.strip():  # EvalScope: the reply as it is
            code, how = reply, "whole_reply"
        return Extraction(code if code.strip() else None, how if code.strip() else "none")

    def program(self, code: str, sample: Sample) -> str:
        solution = (sample.metadata["code_prompt"] + "\n    pass\n" + code) if self.args["calibrate"] else code
        return solution + "\n" + sample.metadata["test"]

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native import sandbox

        if output.error:
            return failed_review(sample, output, ctx, output.error, target=None)
        missing = library_missing(sample.metadata.get("libs"))
        if missing:
            return failed_review(sample, output, ctx, f"missing libraries: {', '.join(missing)}", target=None)
        found = self.extract(output.text, sample)
        program = self.program(found.answer or "", sample)
        limits = sandbox.Limits(timeout=float(self.args["timeout"]), memory_mb=int(self.args["memory_mb"]),
                                max_processes=256, tmp_mb=512, file_size_mb=128)
        result = await sandbox.arun(program, mode="unittest", limits=limits, isolation=self.args["sandbox"])
        meta = {"status": result.status, "isolation": result.details.get("isolation"),
                "tests": result.details.get("tests")}
        if result.error:
            meta["detail"] = result.error
        return make_review(sample, output, ctx, target=None, extracted=found.answer or "", extraction_rule=found.rule,
                           scores={"pass": float(result.passed)}, metadata=meta)


class BigCodeBenchHard(BigCodeBench):
    name = "bigcodebench_hard"
    num_samples = 148
    description = ("BigCodeBench-Hard: the 148 harder, more realistic tasks of BigCodeBench; everything as "
                   "bigcodebench (EvalScope's bigcodebench_hard adapter, BigCodeBench's harness).")
    hf_id = "bigcode/bigcodebench-hard"
    ms_id = "evalscope/bigcodebench-hard"
