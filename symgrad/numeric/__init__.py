"""Numbers: generated code (``compile``, ``code``), points, domains and kinks, values at a
point (``evaluate``), and verdicts against finite differences (``check``, ``hints``)."""
