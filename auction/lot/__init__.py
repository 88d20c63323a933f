"""A lot (标的): its config, its rules in `rules.step`, and the replay of its log."""
