"""Plans rendered for people (text, markdown) and for programs (json)."""
