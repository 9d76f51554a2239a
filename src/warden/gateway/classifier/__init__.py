"""The prompt-injection classifier's data generator (``dataset``), trainer (``train``) and trained head
(``injection_head.json``: 384 logistic weights, bias, threshold, and the metrics measured at training)."""
