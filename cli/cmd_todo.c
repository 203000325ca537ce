/*
 * cmd_todo.c - subcommand groups not built yet. Each owner deletes its
 * function from here and writes cli/cmd_<group>.c.
 */
#include <stdio.h>

#include "cli/cmds.h"

static int
todo(const char *group)
{
	fprintf(stderr, "mashctl: %s: not built yet\n", group);
	return MASHCTL_EXIT_USAGE;
}

int
mashctl_picture(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return todo("picture");
}
