/* Keeps the support library non-empty before any helper lands. */
int mash_test_support_present(void);
int
mash_test_support_present(void)
{
	return 1;
}
