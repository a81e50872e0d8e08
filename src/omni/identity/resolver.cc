// Placeholder until identity resolution lands.
