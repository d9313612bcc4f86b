"""Behavioural checks (`sentiment-rnn check`): does the model read "not good" as negative, and does
it keep its answer when a name, a number or a typo changes? CheckList's three kinds of test
(Ribeiro et al. 2020), from templates and lexicons (checks/en.json, checks/zh.json, or the
user's own file in the same layout), never from a dataset's test split:

- `mft` (minimum functionality): every filled template should get `expect` ("positive",
  "negative", or "not negative" / "not positive");
- `inv` (invariance): the label must not change when the `swap` slot takes another value, or
  when the text is `perturb`ed ("typo": two adjacent letters of one word swapped;
  "punctuation_case": the final punctuation dropped or doubled, the text upper-cased);
- `dir` (directional): in each `pairs` entry, the second text's probability of the class named
  in `expect` ("positive not lower") must not fall below the first's by more than `tolerance`.

A template's `{slot}` takes the words of lexicon `slot` (a trailing digit names a second slot of
the same lexicon: `{noun2}`); cases are sampled with a fixed seed, at most `max_cases` per test.
The model's classes are mapped to polarities: "positive"/"negative" (or "pos"/"neg") by name,
"1"/"0" as positive/negative, anything else by `positive=` / `negative=`.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, DataError

SLOT = re.compile(r"\{([a-z_]+?)(\d*)\}")
BUILT_IN = Path(__file__).with_name("checks")
KINDS = ("mft", "inv", "dir")


def load_suite(path: str | Path | None, language: str) -> dict[str, Any]:
    """The user's template file, or the built-in suite for `language`."""
    if path is None:
        built_in = BUILT_IN / f"{language}.json"
        if not built_in.is_file():
            known = sorted(p.stem for p in BUILT_IN.glob("*.json"))
            raise ConfigError(f"no built-in behavioural tests for language {language!r} (built in: {', '.join(known)}); "
                              f"give your own with --templates FILE")
        path = built_in
    source = str(path)
    try:
        suite = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("templates file does not exist", source=source) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a JSON templates file ({exc})", source=source) from None
    _check(suite, source)
    return suite


def _check(suite: Any, source: str) -> None:
    if not (isinstance(suite, dict) and isinstance(suite.get("lexicons", {}), dict)
            and isinstance(suite.get("tests"), list)):
        raise DataError('expected {"lexicons": {name: [words]}, "tests": [...]}', source=source)
    lexicons = suite.get("lexicons", {})
    for i, test in enumerate(suite["tests"]):
        where = f"tests[{i}]"
        if not isinstance(test, dict) or test.get("kind") not in KINDS or not isinstance(test.get("name"), str):
            raise DataError(f"{where}: each test needs a name and a kind of {', '.join(KINDS)}", source=source)
        texts = [t for pair in test.get("pairs", []) for t in pair] if test["kind"] == "dir" else test.get("templates")
        if not texts or not all(isinstance(t, str) for t in texts):
            raise DataError(f"{where} ({test['name']!r}): no templates" + (" (pairs)" if test["kind"] == "dir" else ""),
                            source=source)
        for text in texts:
            for slot, _ in SLOT.findall(text):
                if not lexicons.get(slot):
                    raise DataError(f"{where} ({test['name']!r}): template slot {{{slot}}} has no lexicon", source=source)
        if test["kind"] == "inv" and not (test.get("swap") in lexicons or test.get("perturb") in PERTURBATIONS):
            raise DataError(f"{where} ({test['name']!r}): an inv test needs a swap (a lexicon) or a perturb "
                            f"({', '.join(PERTURBATIONS)})", source=source)
        if test["kind"] in ("mft", "dir") and not isinstance(test.get("expect"), str):
            raise DataError(f"{where} ({test['name']!r}): an {test['kind']} test needs expect", source=source)


def polarity_classes(classes: list[str], positive: str | None = None, negative: str | None = None) -> dict[str, str]:
    """{"positive": class, "negative": class} for this model."""
    lowered = {c.lower(): c for c in classes}
    found = {"positive": positive or next((lowered[n] for n in ("positive", "pos", "1") if n in lowered), None),
             "negative": negative or next((lowered[n] for n in ("negative", "neg", "0") if n in lowered), None)}
    for polarity, name in found.items():
        if name is None or name not in classes:
            raise ConfigError(f"say which class is {polarity} (--{polarity} CLASS); the model's classes are {classes}")
    return found


def fills(template: str, lexicons: dict[str, list[str]], rng: random.Random, limit: int,
          fixed: dict[str, str] | None = None) -> list[tuple[str, dict[str, str]]]:
    """Up to `limit` filled templates (sampled without repeats), with the slot values used."""
    slots = sorted({name + digit for name, digit in SLOT.findall(template)} - set(fixed or {}))
    choices = [lexicons[re.sub(r"\d+$", "", slot)] for slot in slots]
    total = int(np.prod([len(c) for c in choices])) if choices else 1
    combos = (list(itertools.product(*choices)) if total <= 20 * limit
              else [tuple(rng.choice(c) for c in choices) for _ in range(limit)])
    if len(combos) > limit:
        combos = rng.sample(combos, limit)
    out = []
    for combo in dict.fromkeys(combos):
        values = {**(fixed or {}), **dict(zip(slots, combo))}
        out.append((_fill(template, values), values))
    return out


def _typo(text: str, rng: random.Random) -> str:
    words = [i for i, w in enumerate(text.split(" ")) if len(w) > 3 and w.isalpha()]
    if not words:
        return text
    parts = text.split(" ")
    i = rng.choice(words)
    j = rng.randrange(len(parts[i]) - 1)
    word = parts[i]
    parts[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(parts)


def _punctuation_case(text: str, rng: random.Random) -> str:
    stripped = text.rstrip(".!?。！？")
    return rng.choice([stripped, text + text[-1] if text != stripped else text + "!!", text.upper()])


PERTURBATIONS = {"typo": _typo, "punctuation_case": _punctuation_case}


def run_suite(clf, suite: dict[str, Any], polarity: dict[str, str], max_cases: int = 100, seed: int = 0,
              examples: int = 3) -> dict[str, Any]:
    """Every test's cases, failures, failure rate and a few failing examples."""
    lexicons = suite.get("lexicons", {})
    classes = list(clf.classes_)
    results = []
    for test in suite["tests"]:
        rng = random.Random(f"{seed}:{test['name']}")
        per_template = max(1, max_cases // len(test.get("templates") or test.get("pairs")))
        if test["kind"] == "mft":
            cases = [text for t in test["templates"] for text, _ in fills(t, lexicons, rng, per_template)]
            predicted = clf.predict(cases)
            want = test["expect"]
            ok = [_meets(label, want, polarity) for label in predicted]
            failing = [{"text": c, "predicted": str(p), "expected": want} for c, p, good in zip(cases, predicted, ok)
                       if not good]
        elif test["kind"] == "inv":
            groups = _invariance_groups(test, lexicons, rng, per_template)
            flat = [text for group in groups for text in group]
            predicted = iter(clf.predict(flat))
            labelled = [[(text, str(next(predicted))) for text in group] for group in groups]
            failing = [{"texts": [t for t, _ in group], "predicted": [p for _, p in group]}
                       for group in labelled if len({p for _, p in group}) > 1]
            cases = groups
        else:
            polarity_name, _, direction = test["expect"].partition(" not ")
            k = classes.index(polarity[polarity_name])
            pairs = []
            for first, second in test["pairs"]:
                for text, values in fills(first, lexicons, rng, per_template):
                    pairs.append((text, fills(second, lexicons, rng, 1, fixed=values)[0][0]))
            proba = clf.predict_proba([t for pair in pairs for t in pair])[:, k].reshape(-1, 2)
            tolerance = float(test.get("tolerance", 0.0))
            worse = proba[:, 1] < proba[:, 0] - tolerance if direction == "lower" else proba[:, 1] > proba[:, 0] + tolerance
            failing = [{"texts": list(pair), f"p_{polarity[polarity_name]}": [round(float(a), 4), round(float(b), 4)]}
                       for pair, (a, b), bad in zip(pairs, proba, worse) if bad]
            cases = pairs
        results.append({"name": test["name"], "capability": test.get("capability", ""), "kind": test["kind"],
                        "cases": len(cases), "failures": len(failing),
                        "failure_rate": round(len(failing) / max(len(cases), 1), 4), "examples": failing[:examples]})
    return {"suite": suite.get("language", "custom"), "polarity": polarity, "tests": results,
            "summary": {"tests": len(results), "tests_with_failures": sum(1 for r in results if r["failures"]),
                        "cases": sum(r["cases"] for r in results), "failures": sum(r["failures"] for r in results)}}


def _meets(label, want: str, polarity: dict[str, str]) -> bool:
    if want.startswith("not "):
        return str(label) != polarity[want[4:]]
    return str(label) == polarity[want]


def _invariance_groups(test: dict[str, Any], lexicons: dict[str, list[str]], rng: random.Random,
                       limit: int) -> list[list[str]]:
    """Texts that must get one label: a filled template with the `swap` slot taking up to five
    values, or a filled template and its perturbation."""
    groups = []
    for template in test["templates"]:
        for text, values in fills(template, lexicons, rng, limit):
            if "swap" in test:
                slot = test["swap"]
                swapped = rng.sample(lexicons[slot], min(5, len(lexicons[slot])))
                groups.append([_fill(template, {**values, slot: value}) for value in swapped])
            else:
                groups.append([text, PERTURBATIONS[test["perturb"]](text, rng)])
    return groups


def _fill(template: str, values: dict[str, str]) -> str:
    return SLOT.sub(lambda m: values[m.group(1) + m.group(2)], template)
