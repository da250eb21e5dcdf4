from e27bridge.cli import main

raise SystemExit(main())
