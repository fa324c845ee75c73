"""The sample-data generator: deterministic shop chats, orders and their ground truth.

    qc sample --conversations 300 --seed 7 --out data/generated
    python -m tools.sample --conversations 300 --seed 7 --out data/generated

Test data, not product: it lives outside the `qc` library and joins the `qc` command line
through the `qc.plugins` entry point (tools/sample/cli.py). The code is generator.py; the
text pools and shop data are templates.yaml; the lexicons and the timing limits come from
`qc` (qc.lexicon, the rule registry's default parameters).
"""

__all__ = ["generate", "validate_templates"]


def __getattr__(name):
    # lazily: every `qc` command registers `qc sample` through this package, and the generator
    # (its templates, ~0.1 s) is only needed when a sample is generated
    if name in __all__:
        from . import generator

        return getattr(generator, name)
    raise AttributeError(name)
