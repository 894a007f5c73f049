"""Notifications of parties (docs/notifications.md): the channels a TOML policy names (VNeID with the citizen's
consent, else a registered letter), the legal deadline on the working-day calendar, each channel carried as a
command, and the delivery events (VNeID's answer, VNPost's pushes) that close it."""
