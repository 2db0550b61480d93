"""The evaluation exports: de-identified CSV rows and FHIR R4 resources, streamed page by page."""
