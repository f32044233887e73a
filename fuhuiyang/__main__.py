from fuhuiyang.cli import main

main()
