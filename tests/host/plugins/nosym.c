/* A test shared object that is no plugin: no strata_plugin_v2 (nor v1) symbol. */
int not_a_plugin(void);
int not_a_plugin(void)
{
    return 42;
}
