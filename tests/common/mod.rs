pub mod fake_soap;
