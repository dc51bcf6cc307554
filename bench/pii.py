"""Personal-data detection: quality on the labelled set, and speed beside Microsoft Presidio on the same text.

Builds the labelled evaluation set the tests use (``forewarn.privacy.tests.corpus``: Faker's uk_UA, ru_RU
and en_US values in sentences, with decoys), scores Forewarn's detector on it (exact span and kind), then
times both detectors over the same sentences. Presidio runs as "Presidio with its pattern recognisers": the
credit card, email, IBAN and phone recognisers (phones for UA, RU, US and GB) behind a blank spaCy
pipeline, so no model is loaded and only the pattern work is compared. Presidio is installed for the
benchmark only (``make bench-pii`` installs the ``pii-bench`` extra). Each detector runs ``--rounds``
times, alternating, and its best round counts (the machine is shared); Forewarn's phone cache is cleared
before each of its rounds, so it never sees a sentence twice either.

The last line reads ``pii: precision=P recall=R mb_per_s=T presidio_ratio=S``: T is Forewarn's throughput
in megabytes of UTF-8 text per second, S that throughput divided by Presidio's.

    python bench/pii.py                 # 20,000 sentences
    python bench/pii.py --samples 5000 --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from forewarn.privacy import detect
from forewarn.privacy.tests.corpus import build, score

# What Presidio calls the kinds both detectors know.
PRESIDIO_KINDS = {
    "PHONE_NUMBER": detect.Kind.PHONE,
    "CREDIT_CARD": detect.Kind.CARD,
    "IBAN_CODE": detect.Kind.IBAN,
    "EMAIL_ADDRESS": detect.Kind.EMAIL,
}


def presidio_analyzer() -> Callable[[str], list[tuple[str, int, int]]]:
    # Imported here: Presidio is an extra for this benchmark, and the message below says how to get it.
    try:
        import spacy
        import tldextract
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            PhoneRecognizer,
        )
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    except ImportError:
        sys.exit(
            "bench/pii.py compares with Presidio: install it with `make bench-pii` (the pii-bench extra)"
        )
    # The e-mail recogniser checks top-level domains with tldextract, which would fetch the public suffix
    # list from the internet; the copy inside the package is the same list, offline.
    offline = tldextract.TLDExtract(suffix_list_urls=())
    email_recognizer.tldextract = type("Offline", (), {"extract": staticmethod(offline)})  # type: ignore[attr-defined]
    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    nlp.nlp = {"en": spacy.blank("xx")}  # tokens only: no model to download, nothing but the patterns
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        CreditCardRecognizer(),
        EmailRecognizer(),
        IbanRecognizer(),
        PhoneRecognizer(supported_regions=("UA", "RU", "US", "GB")),
    ):
        registry.add_recognizer(recognizer)
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])

    def analyze(text: str) -> list[tuple[str, int, int]]:
        return [(r.entity_type, r.start, r.end) for r in engine.analyze(text, language="en")]

    return analyze


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=20000, help="sentences in the labelled set")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per detector; the best counts")
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()

    samples = build(args.samples, seed=args.seed)
    texts = [s.text for s in samples]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    values = sum(len(s.spans) for s in samples)
    print(f"labelled set: {len(texts)} sentences, {megabytes:.2f} MB, {values} personal values")

    precision, recall, notes = score(
        samples, lambda text: [(f.kind, f.start, f.end) for f in detect.find(text)]
    )
    for note in notes[:10]:
        print("  " + note)
    print(f"forewarn: precision={precision:.4f} recall={recall:.4f}")

    presidio = presidio_analyzer()
    # Presidio's quality on the kinds it knows, for the reader (its spans are compared the same way).
    known = [
        type(s)(s.text, [span for span in s.spans if span[0] in PRESIDIO_KINDS.values()])
        for s in samples[:2000]
    ]
    p_precision, p_recall, _ = score(
        known,
        lambda text: [(PRESIDIO_KINDS[k], a, b) for k, a, b in presidio(text) if k in PRESIDIO_KINDS],
    )
    print(f"presidio (phones, cards, IBANs, emails only): precision={p_precision:.4f} recall={p_recall:.4f}")

    def ours() -> None:
        detect.phone_e164.cache_clear()
        for text in texts:
            detect.find(text)

    def theirs() -> None:
        for text in texts:
            presidio(text)

    ours_best = theirs_best = float("inf")
    for round_ in range(1, args.rounds + 1):
        ours_s, theirs_s = timed(ours), timed(theirs)
        ours_best, theirs_best = min(ours_best, ours_s), min(theirs_best, theirs_s)
        print(
            f"round {round_}: forewarn {megabytes / ours_s:.3f} MB/s ({ours_s:.2f} s), "
            f"presidio {megabytes / theirs_s:.3f} MB/s ({theirs_s:.2f} s)"
        )
    ours_rate, theirs_rate = megabytes / ours_best, megabytes / theirs_best
    print(
        f"pii: precision={precision:.4f} recall={recall:.4f} mb_per_s={ours_rate:.3f} "
        f"presidio_ratio={ours_rate / theirs_rate:.2f}"
    )


if __name__ == "__main__":
    main()
