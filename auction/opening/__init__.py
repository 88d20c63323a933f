"""A remote bid opening (不见面开标): its rules in `rules.step`, its envelopes, its record
and the replay of its log."""
