"""Remote mental-health triage for police: an officer on scene reaches an on-call clinician."""
