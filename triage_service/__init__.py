"""Remote mental-health triage for police officers on scene."""
