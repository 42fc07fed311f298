"""Quality certificates (rule 18): issue them from the read model, and verify them offline and
against any chain. The API, the activities, the auditor's CLI and the benchmarks share these."""
