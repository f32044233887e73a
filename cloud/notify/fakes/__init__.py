"""Local fakes of the mainland SMS providers: real HTTP servers that enforce each provider's
documented rules (signature, approved templates, variable lengths, per-number limits) and
answer with the provider's own refusal codes, so a message the provider would refuse fails a
test here. Not used in production; the tests and the demo (its SMS sink) point the adapters'
endpoints at them.
"""
