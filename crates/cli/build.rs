fn main() {
    fpt_login_build_info::emit_version();
}
