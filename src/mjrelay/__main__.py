from mjrelay.cli import main

main()
