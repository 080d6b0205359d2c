# Placeholder: the built-in demo target's rules go here.  DEMO_OUTPUTS lists files that
# the default target `all` builds in addition to every target's outputs.
DEMO_OUTPUTS = []
