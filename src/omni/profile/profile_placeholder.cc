// Placeholder until the profile module lands.
