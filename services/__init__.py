"""Operations that the API and the activities both perform (read model + chain together)."""
