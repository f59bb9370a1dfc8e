# The claims domain arrives with its own issue; the app is wired in from the start.
