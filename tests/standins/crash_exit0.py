"""Stand-in for GALFIT 3.0.5's crash: a message, no output block, and exit status 0."""

print("Doh!  GALFIT crashed because at least one of the model parameters is bad.")
