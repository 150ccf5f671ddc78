/* Does nothing, successfully: what fork+exec+wait measures. */
int main(int argc, char **argv)
{
	return 0;
}
