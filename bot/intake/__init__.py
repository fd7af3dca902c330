"""Alert intake: one module per alert source (parse and verify), correlation, normalization, redaction."""
