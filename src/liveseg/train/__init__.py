"""liveseg.train"""
