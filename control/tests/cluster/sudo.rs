use crate::common::TestCluster;
use control::{Cmd, Remote, SshNode};
use std::process::Command;

/// A throwaway login with a password and a sudoers entry that asks for it; removed on drop.
struct TempUser {
    name: String,
}

impl TempUser {
    fn create(name: &str, password: &str) -> TempUser {
        // A run that died before its cleanup may have left the user behind.
        let _ = Command::new("userdel").args(["-f", name]).output();
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new("useradd").args(["--no-create-home", "--shell", "/bin/sh", name]));
        let user = TempUser {
            name: name.to_owned(),
        };
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(chpasswd.stdin.take().unwrap(), "{name}:{password}").unwrap();
        assert!(chpasswd.wait().unwrap().success());
        std::fs::write(user.sudoers(), format!("{name} ALL=(ALL) ALL\n")).unwrap();
        user
    }

    fn sudoers(&self) -> String {
        format!("/etc/sudoers.d/rift-test-{}", self.name)
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.sudoers());
        // -f: even if a session of the user's is still closing.
        let _ = Command::new("userdel").args(["-f", &self.name]).status();
    }
}

#[test]
fn sudo_runs_commands_as_root_for_a_non_root_user() {
    let Some(c) = TestCluster::up(9, 1) else {
        return;
    };
    if Command::new("sudo").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sudo must be installed in CI"
        );
        eprintln!("SKIPPED: sudo is not installed");
        return;
    }
    let _user = TempUser::create("rifttest9", "s3cret 'pw'");
    let as_user = |password: Option<&str>| {
        let mut node = c.inventory.nodes[0].clone();
        node.user = "rifttest9".into();
        node.sudo_password = password.map(String::from);
        let ctx = control::SshContext::new(c.inventory.ssh.clone()).unwrap();
        SshNode::new(node, ctx)
    };

    let node = as_user(Some("s3cret 'pw'"));
    let plain = c.rt.block_on(node.run(&Cmd::new("id").arg("-un"))).unwrap();
    assert_eq!(plain.stdout_text(), "rifttest9\n");
    let elevated =
        c.rt.block_on(node.run(&Cmd::new("id").arg("-un").sudo()))
            .unwrap();
    assert_eq!(elevated.stdout_text(), "root\n");
    // stdin after the password line still reaches the command.
    let piped =
        c.rt.block_on(node.run(&Cmd::new("cat").sudo().stdin("data for root\n")))
            .unwrap();
    assert_eq!(piped.stdout_text(), "data for root\n");

    // Without the password sudo cannot ask for it: a clear failure, not a hang.
    let no_password = as_user(None);
    let e =
        c.rt.block_on(no_password.run(&Cmd::new("id").sudo()))
            .unwrap_err()
            .to_string();
    assert!(e.contains("password is required"), "{e}");
    // Close the user's sessions before the user goes.
    c.rt.block_on(node.close());
    c.rt.block_on(no_password.close());
}
