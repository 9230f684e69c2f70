"""XDS.b Document Registry: ebRIM objects, metadata validation, stored queries (ITI-18/42/57/62)."""
