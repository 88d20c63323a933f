"""The party library's rules (交易主体库): credit codes, the blacklist, the credit check."""
