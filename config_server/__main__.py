from config_server.cli import main

raise SystemExit(main())
