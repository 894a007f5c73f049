"""Operations: metrics, the state operators watch, and the operations page."""
