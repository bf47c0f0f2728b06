// Every test process runs Ballast in test mode on the embedded defaults unless a test says otherwise.
process.env.BALLAST_ENV ??= "test";
process.env.NEXT_TELEMETRY_DISABLED = "1";
