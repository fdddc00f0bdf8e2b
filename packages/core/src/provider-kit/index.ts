// filled in by the provider kit work
export {};
