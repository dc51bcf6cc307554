"""The shell above every app: the API instance with its authentication and error shape, the navigation
of every page, and the demo world that calls each app's own demo. Nothing below imports it."""
