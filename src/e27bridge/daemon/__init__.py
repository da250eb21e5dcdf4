"""Operations layer: configuration, logging, the state directory and systemd integration."""
